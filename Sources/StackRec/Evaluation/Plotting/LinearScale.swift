import Foundation

/// A linear map from data values (the domain) to pixel positions (the range).
///
/// The range may run backwards, as a y axis does in SVG, where larger values
/// sit higher on the page and so at smaller y:
///
/// ```
/// let y = LinearScale(domain: 0...10, range: 300...20, inverted: true)
/// y.position(0)   // 300
/// y.position(10)  // 20
/// ```
///
/// A degenerate domain (one value, or a non-finite bound) is widened so the
/// scale still maps every value to a finite position.
struct LinearScale: Sendable, Equatable {
  /// The data values at the two ends of the range, `lower <= upper`.
  var domain: ClosedRange<Double>
  /// The positions of `domain.lowerBound` and `domain.upperBound`.
  var start: Double
  var end: Double

  /// Creates a scale from `domain` to `range`. With `inverted`, the domain's
  /// lower bound maps to the range's upper bound.
  init(domain: ClosedRange<Double>, range: ClosedRange<Double>, inverted: Bool = false) {
    self.domain = LinearScale.widened(domain)
    start = inverted ? range.upperBound : range.lowerBound
    end = inverted ? range.lowerBound : range.upperBound
  }

  /// Returns the position of `value`. Values outside the domain extrapolate.
  func position(_ value: Double) -> Double {
    let span = domain.upperBound - domain.lowerBound
    return start + (value - domain.lowerBound) / span * (end - start)
  }

  /// Returns the position of `value` after clamping it to the domain.
  func clampedPosition(_ value: Double) -> Double {
    position(min(max(value, domain.lowerBound), domain.upperBound))
  }

  /// Returns the tick spacing for about `count` ticks across the domain.
  func tickStep(count: Int = 6) -> Double {
    LinearScale.niceStep(span: domain.upperBound - domain.lowerBound, count: count)
  }

  /// Returns the multiples of `tickStep(count:)` inside the domain, ascending.
  func ticks(count: Int = 6) -> [Double] {
    let step = tickStep(count: count)
    let first = (domain.lowerBound / step - 1e-9).rounded(.up)
    let last = (domain.upperBound / step + 1e-9).rounded(.down)
    guard first <= last else { return [] }
    return stride(from: first, through: last, by: 1).map { LinearScale.multiple($0, of: step) }
  }

  /// Returns the scale with its domain widened outwards to multiples of the
  /// tick step, so the axis begins and ends on a tick.
  func niced(count: Int = 6) -> LinearScale {
    let step = tickStep(count: count)
    let lower = LinearScale.multiple((domain.lowerBound / step + 1e-9).rounded(.down), of: step)
    let upper = LinearScale.multiple((domain.upperBound / step - 1e-9).rounded(.up), of: step)
    var scale = self
    scale.domain = LinearScale.widened(lower...upper)
    return scale
  }

  /// Returns the 1-2-5 step for about `count` intervals over `span`: the smallest of
  /// 1, 2, 5 and 10 times a power of ten that is at least `span / count`.
  /// For example, a span of 4.5 with 6 ticks gives 1, and 28,000 gives 5,000.
  static func niceStep(span: Double, count: Int) -> Double {
    guard span.isFinite, span > 0 else { return 1 }
    let raw = span / Double(max(count, 1))
    let magnitude = pow10(Int((log10(raw)).rounded(.down)))
    let residual = raw / magnitude
    let factor: Double
    if residual <= 1 + 1e-9 {
      factor = 1
    } else if residual <= 2 + 1e-9 {
      factor = 2
    } else if residual <= 5 + 1e-9 {
      factor = 5
    } else {
      factor = 10
    }
    return factor * magnitude
  }

  /// Returns `domain` with finite bounds and a non-zero width.
  static func widened(_ domain: ClosedRange<Double>) -> ClosedRange<Double> {
    guard domain.lowerBound.isFinite, domain.upperBound.isFinite else { return 0...1 }
    if domain.lowerBound < domain.upperBound { return domain }
    let value = domain.lowerBound
    let half = value == 0 ? 1 : abs(value) * 0.1
    return (value - half)...(value + half)
  }

  /// Returns the number of decimals that print every multiple of `step` exactly:
  /// 0 for 5 or 1000, 1 for 0.5, 2 for 0.05.
  static func decimals(of step: Double) -> Int {
    guard step.isFinite, step > 0 else { return 0 }
    return max(0, -Int((log10(step) + 1e-9).rounded(.down)))
  }

  /// `index` times a 1-2-5 `step`, computed as an integer divided by a power
  /// of ten so that 3 times 0.1 gives 0.3 rather than 0.30000000000000004.
  static func multiple(_ index: Double, of step: Double) -> Double {
    let exponent = Int((log10(step) + 1e-9).rounded(.down))
    let mantissa = (step / pow10(exponent)).rounded()
    let value = exponent < 0
      ? index * mantissa / pow10(-exponent) : index * mantissa * pow10(exponent)
    return value == 0 ? 0 : value
  }

  /// 10 raised to `exponent`, exact for the powers a tick step uses.
  static func pow10(_ exponent: Int) -> Double {
    var result = 1.0
    for _ in 0..<abs(exponent) { result *= 10 }
    return exponent < 0 ? 1 / result : result
  }
}
