/// A rule that combines the base models' predictions for one pair.
public protocol Ensemble: Sendable {
  /// The short name used in reports, such as `stacked`.
  var key: String { get }

  /// Combines one prediction per base model, in the base models' order.
  func combine(_ predictions: [Double]) -> Double
}

extension Ensemble {
  /// Combines column-wise: `predictions[m][n]` is model `m`'s prediction for
  /// pair `n`.
  public func combine(columns predictions: [[Double]]) -> [Double] {
    let count = predictions.first?.count ?? 0
    var row = [Double](repeating: 0, count: predictions.count)
    return (0..<count).map { sample in
      for model in 0..<predictions.count { row[model] = predictions[model][sample] }
      return combine(row)
    }
  }
}

/// The mean of the base models' predictions.
public struct AverageEnsemble: Ensemble {
  public static let key = "average"
  public var key: String { Self.key }

  public init() {}

  public func combine(_ predictions: [Double]) -> Double {
    guard !predictions.isEmpty else { return 0 }
    return predictions.reduce(0, +) / Double(predictions.count)
  }
}

/// Linear stacking: a least-squares regression, with intercept, of the true
/// rating on the base models' predictions.
///
/// ```
/// r_hat(u, i) = b + sum_m w_m * r_hat_m(u, i)
/// ```
///
/// Source: David H. Wolpert, "Stacked Generalization", Neural Networks 5(2),
/// 1992; the weights are fitted on predictions for rows the base models did
/// not train on.
public struct LinearStacker: Ensemble {
  public static let key = "stacked"
  public var key: String { Self.key }

  public let intercept: Double
  public let weights: [Double]

  public init(intercept: Double, weights: [Double]) {
    self.intercept = intercept
    self.weights = weights
  }

  /// Fits the weights; `predictions[m][n]` is model `m`'s prediction for
  /// sample `n`, whose true rating is `targets[n]`.
  public static func fit(predictions: [[Double]], targets: [Double], ridge: Double = 0)
    -> LinearStacker
  {
    let solution = LeastSquares.fit(features: predictions, targets: targets, ridge: ridge)
    return LinearStacker(intercept: solution.intercept, weights: solution.weights)
  }

  public func combine(_ predictions: [Double]) -> Double {
    precondition(predictions.count == weights.count, "expected \(weights.count) predictions")
    var value = intercept
    for model in 0..<weights.count { value += weights[model] * predictions[model] }
    return value
  }
}
