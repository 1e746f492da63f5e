/// The meta-model as the feature store keeps it and the blender applies it:
///
/// ```
/// score(u, i) = clip(intercept + sum_m weights[m] * score_m(u, i))
/// ```
///
/// clipped to the rating scale.
public struct BlendModel: Sendable, Equatable {
  public var intercept: Double
  public var weights: [Double]

  public init(intercept: Double, weights: [Double]) {
    self.intercept = intercept
    self.weights = weights
  }

  public init(_ stacker: LinearStacker) {
    self.init(intercept: stacker.intercept, weights: stacker.weights)
  }

  /// The unclipped blend of one score per model.
  @inline(__always)
  public func blend(_ scores: [Float]) -> Double {
    var value = intercept
    for model in 0..<weights.count { value += weights[model] * Double(scores[model]) }
    return value
  }

  /// Blends whole rows: `output[n] = intercept + sum_m weights[m] * rows[m][n]`.
  public func blendRows(_ rows: [[Float]], into output: inout [Double]) {
    precondition(rows.count == weights.count, "expected \(weights.count) rows")
    let count = rows.first?.count ?? 0
    output.removeAll(keepingCapacity: true)
    output.append(contentsOf: repeatElement(intercept, count: count))
    output.withUnsafeMutableBufferPointer { output in
      for (row, weight) in zip(rows, weights) {
        precondition(row.count == count, "rows differ in length")
        row.withUnsafeBufferPointer { row in
          for index in 0..<count { output[index] += weight * Double(row[index]) }
        }
      }
    }
  }

  /// Clamps a blended score to the rating scale, as a `Float`.
  @inline(__always)
  public static func clip(_ value: Double, to scale: ClosedRange<Float>) -> Float {
    Float(min(max(value, Double(scale.lowerBound)), Double(scale.upperBound)))
  }
}
