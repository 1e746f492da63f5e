/// Equal bands for the categories of a bar chart, laid out along a range.
///
/// `count` bands split the range into equal steps. Each band takes the step
/// less `innerPadding` of it, and `outerPadding` steps are left at each end:
///
/// ```
/// |pad|band| gap |band| gap |band|pad|
/// ```
struct BandScale: Sendable, Equatable {
  var count: Int
  var range: ClosedRange<Double>
  /// The gap between bands, as a fraction of a step (0 to 1).
  var innerPadding: Double
  /// The space before the first band and after the last, in steps.
  var outerPadding: Double

  init(
    count: Int, range: ClosedRange<Double>, innerPadding: Double = 0.25,
    outerPadding: Double = 0.15
  ) {
    precondition(count >= 0, "a band scale needs a non-negative count, got \(count)")
    precondition(
      (0..<1).contains(innerPadding), "inner padding must be in [0, 1), got \(innerPadding)")
    self.count = count
    self.range = range
    self.innerPadding = innerPadding
    self.outerPadding = max(0, outerPadding)
  }

  /// The distance from one band's start to the next one's.
  var step: Double {
    guard count > 0 else { return 0 }
    let units = Double(count) - innerPadding + 2 * outerPadding
    return (range.upperBound - range.lowerBound) / units
  }

  /// The width of each band.
  var bandwidth: Double { step * (1 - innerPadding) }

  /// Returns the position where band `index` starts.
  func start(_ index: Int) -> Double {
    range.lowerBound + step * (outerPadding + Double(index))
  }

  /// Returns the position of the middle of band `index`.
  func center(_ index: Int) -> Double {
    start(index) + bandwidth / 2
  }
}
