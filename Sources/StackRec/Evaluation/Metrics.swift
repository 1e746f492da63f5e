/// Error metrics for rating predictions.
public enum Metrics {
  /// Root mean squared error: `sqrt(mean((truth - prediction)^2))`.
  public static func rmse(_ predictions: [Double], _ truth: [Double]) -> Double {
    precondition(predictions.count == truth.count, "\(predictions.count) predictions, \(truth.count) truths")
    guard !truth.isEmpty else { return 0 }
    var sum = 0.0
    for index in 0..<truth.count {
      let error = truth[index] - predictions[index]
      sum += error * error
    }
    return (sum / Double(truth.count)).squareRoot()
  }

  /// Mean absolute error: `mean(|truth - prediction|)`.
  public static func mae(_ predictions: [Double], _ truth: [Double]) -> Double {
    precondition(predictions.count == truth.count, "\(predictions.count) predictions, \(truth.count) truths")
    guard !truth.isEmpty else { return 0 }
    var sum = 0.0
    for index in 0..<truth.count { sum += abs(truth[index] - predictions[index]) }
    return sum / Double(truth.count)
  }

  /// Clamps each prediction to `scale`.
  public static func clip(_ predictions: [Double], to scale: ClosedRange<Float>) -> [Double] {
    let low = Double(scale.lowerBound)
    let high = Double(scale.upperBound)
    return predictions.map { min(max($0, low), high) }
  }
}
