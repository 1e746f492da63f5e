/// How the meta-learner turns base-model predictions into a `BlendModel`.
public enum MetaLearner: Sendable, Equatable {
  /// Least squares with an intercept (linear stacking).
  case leastSquares
  /// Least squares with an L2 penalty on the weights; the penalty is chosen
  /// by 5-fold cross-validation over the meta-training rows.
  case ridge
  /// Least squares with every model weight constrained to be non-negative,
  /// and a free intercept.
  case nonNegative
  /// Feature-weighted linear stacking on the constant and the log user and
  /// item support, with a ridge penalty chosen by cross-validation.
  case featureWeighted

  /// The name in reports and on the command line.
  public var key: String {
    switch self {
    case .leastSquares: return "stacked"
    case .ridge: return "ridge"
    case .nonNegative: return "nnls"
    case .featureWeighted: return "fwls"
    }
  }

  public static let all: [MetaLearner] = [.leastSquares, .ridge, .nonNegative, .featureWeighted]

  public init?(key: String) {
    guard let learner = Self.all.first(where: { $0.key == key }) else { return nil }
    self = learner
  }

  /// Candidate ridge penalties, relative to the number of samples.
  static let penalties: [Double] = [0, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1]

  /// Fits the blend.
  ///
  /// - Parameters:
  ///   - predictions: `predictions[m][n]` is model m's prediction for sample n.
  ///   - targets: the true rating of each sample.
  ///   - userSupport, itemSupport: the training support of each sample's
  ///     user and item, for the feature-weighted blend.
  ///   - seed: the fold assignment of the penalty's cross-validation.
  public func fit(
    predictions: [[Double]], targets: [Double], userSupport: [Int32], itemSupport: [Int32],
    seed: UInt64 = 42
  ) -> BlendModel {
    switch self {
    case .leastSquares:
      let solution = LeastSquares.fit(features: predictions, targets: targets)
      return BlendModel(intercept: solution.intercept, weights: solution.weights)

    case .ridge:
      let penalty = Self.choosePenalty(features: predictions, targets: targets, seed: seed)
      let solution = LeastSquares.fit(features: predictions, targets: targets, ridge: penalty)
      return BlendModel(intercept: solution.intercept, weights: solution.weights)

    case .nonNegative:
      let solution = LeastSquares.fitNonNegative(features: predictions, targets: targets)
      return BlendModel(intercept: solution.intercept, weights: solution.weights)

    case .featureWeighted:
      let design = FeatureWeightedDesign(
        predictions: predictions, userSupport: userSupport, itemSupport: itemSupport)
      let penalty = Self.choosePenalty(features: design.columns, targets: targets, seed: seed)
      let solution = LeastSquares.fit(features: design.columns, targets: targets, ridge: penalty)
      return design.blendModel(solution)
    }
  }

  /// Picks the ridge penalty with the lowest 5-fold cross-validated RMSE.
  /// Candidates are fractions of the sample count, so the choice does not
  /// depend on the data's size.
  static func choosePenalty(features: [[Double]], targets: [Double], seed: UInt64) -> Double {
    let count = targets.count
    guard count >= 50 else { return 0 }
    let folds = 5
    var generator = SeededGenerator(seed: seed)
    var order = Array(0..<count)
    generator.shuffle(&order)
    var fold = [Int](repeating: 0, count: count)
    for (position, row) in order.enumerated() { fold[row] = position % folds }

    // One pass collects each fold's sums; every fit and held-out error
    // then comes from them.
    var foldRows = [[Int]](repeating: [], count: folds)
    for row in 0..<count { foldRows[fold[row]].append(row) }
    let foldStatistics = foldRows.map {
      RegressionStatistics(features: features, targets: targets, rows: $0)
    }
    var total = RegressionStatistics(dimension: features.count)
    for statistics in foldStatistics { total = total - statistics.negated() }

    var best = (penalty: 0.0, error: Double.infinity)
    for relative in penalties {
      let penalty = relative * Double(count)
      var squaredError = 0.0
      for held in 0..<folds {
        let solution = (total - foldStatistics[held]).solve(ridge: penalty * 0.8)
        squaredError += foldStatistics[held].squaredError(solution)
      }
      if squaredError < best.error { best = (penalty, squaredError) }
    }
    return best.penalty
  }
}

/// The design matrix of feature-weighted linear stacking: for standardised
/// features `x_f` (f >= 1) one column `x_f` (the feature's own intercept)
/// and, for every model m and feature f (f >= 0), one column `x_f * s_m`.
struct FeatureWeightedDesign {
  static let features: [MetaFeature] = [.constant, .logUserSupport, .logItemSupport]

  var centers: [Double] = []
  var scales: [Double] = []
  var columns: [[Double]] = []
  let modelCount: Int

  init(predictions: [[Double]], userSupport: [Int32], itemSupport: [Int32]) {
    let features = Self.features
    let count = userSupport.count
    modelCount = predictions.count
    var values: [[Double]] = []
    for feature in features {
      let raw = (0..<count).map {
        feature.value(userSupport: userSupport[$0], itemSupport: itemSupport[$0])
      }
      if feature == .constant {
        centers.append(0)
        scales.append(1)
        values.append(raw)
        continue
      }
      let mean = raw.reduce(0, +) / Double(max(count, 1))
      let variance = raw.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(count, 1))
      let scale = variance > 0 ? variance.squareRoot() : 1
      centers.append(mean)
      scales.append(scale)
      values.append(raw.map { ($0 - mean) / scale })
    }
    for f in 1..<features.count { columns.append(values[f]) }
    for model in 0..<predictions.count {
      for f in 0..<features.count {
        columns.append((0..<count).map { values[f][$0] * predictions[model][$0] })
      }
    }
  }

  /// Maps the regression's weights back to the blend's terms.
  func blendModel(_ solution: LeastSquares.Solution) -> BlendModel {
    let featureCount = Self.features.count
    var intercepts = [solution.intercept]
    intercepts += solution.weights[0..<(featureCount - 1)]
    var coefficients: [[Double]] = []
    for model in 0..<modelCount {
      let start = featureCount - 1 + model * featureCount
      coefficients.append(Array(solution.weights[start..<(start + featureCount)]))
    }
    return BlendModel(
      features: Self.features, centers: centers, scales: scales, intercepts: intercepts,
      coefficients: coefficients)
  }
}
