/// A named configuration of base models, stacking and meta-learner.
public enum Preset: String, Sendable, CaseIterable {
  /// The reference experiment: bias, item kNN (cosine) and matrix
  /// factorisation, hold-out stacking with least squares.
  case reference
  /// The most accurate configuration: the stronger models, 5-fold
  /// out-of-fold stacking and feature-weighted linear stacking.
  case best

  /// The keys `--models` accepts, in the order models are blended.
  public static let modelKeys = [
    "bias", "item_knn", "mf", "baseline", "knn_baseline", "svd", "svdpp", "timesvd", "content",
  ]

  /// The preset's plan, with the reference models' hyperparameters from
  /// `reference` (the command line may change them).
  public func plan(reference: ModelConfiguration, seed: UInt64) -> ExperimentPlan {
    switch self {
    case .reference:
      return ExperimentPlan(models: reference.specs, stacking: .holdout, metaLearner: .leastSquares, seed: seed)
    case .best:
      return ExperimentPlan(
        models: Preset.bestModelKeys.map { Preset.spec(for: $0, reference: reference, seed: seed)! },
        stacking: .outOfFold(folds: 5), metaLearner: .featureWeighted, seed: seed)
    }
  }

  /// The models of the `best` preset.
  static let bestModelKeys = ["baseline", "knn_baseline", "svd", "svdpp", "timesvd", "content"]

  /// The model for `key` with its default (tuned) hyperparameters, or nil
  /// for an unknown key.
  public static func spec(for key: String, reference: ModelConfiguration, seed: UInt64)
    -> BaseModelSpec?
  {
    switch key {
    case "bias":
      return .bias
    case "item_knn":
      return .itemKNN(reference.knn)
    case "mf":
      return .matrixFactorization(reference.mf)
    // The values below were chosen by 5-fold cross-validation on training
    // rows only (`--tune`), on ml-latest-small and MovieLens 100k, taking
    // the configuration that is best or near-best on both.
    case "baseline":
      var configuration = BaselineModel.Configuration()
      configuration.itemRegularization = 2
      configuration.userRegularization = 5
      return .baseline(configuration)
    case "knn_baseline":
      var configuration = KNNBaselineModel.Configuration()
      configuration.neighbors = 60
      configuration.shrinkage = 1600
      configuration.baseline.itemRegularization = 2
      configuration.baseline.userRegularization = 5
      return .knnBaseline(configuration)
    case "svd":
      var configuration = MatrixFactorizationModel.Configuration()
      configuration.factors = 100
      configuration.epochs = 60
      configuration.learningRate = 0.005
      configuration.regularization = 0.1
      configuration.seed = seed
      return .svd(configuration)
    case "svdpp":
      var configuration = SVDPlusPlusModel.Configuration()
      configuration.factors = 50
      configuration.epochs = 20
      configuration.learningRate = 0.007
      configuration.regularization = 0.05
      configuration.seed = seed
      return .svdPlusPlus(configuration)
    case "timesvd":
      var configuration = TimeSVDModel.Configuration()
      configuration.factors = 100
      configuration.regularization = 0.1
      configuration.dayRegularization = 0.5
      configuration.seed = seed
      return .timeSVD(configuration)
    case "content":
      var configuration = ContentModel.Configuration()
      configuration.weightRegularization = 5
      configuration.maxTags = 100
      return .content(configuration)
    default:
      return nil
    }
  }
}
