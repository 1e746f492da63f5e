/// What a base model needs besides its training ratings.
public struct FitContext: Sendable {
  /// The dataset the training rows come from, whose movie and tag files
  /// give the content model its item features.
  public var dataset: Dataset?
  /// Receives per-epoch progress of the SGD models.
  public var logger: Logger

  public init(dataset: Dataset? = nil, logger: Logger) {
    self.dataset = dataset
    self.logger = logger
  }
}

/// A base model and its hyperparameters: everything needed to fit it.
public enum BaseModelSpec: Sendable, Equatable {
  /// The reference configuration's three models.
  case bias
  case itemKNN(ItemKNNModel.Configuration)
  case matrixFactorization(MatrixFactorizationModel.Configuration)
  /// The stronger models.
  case baseline(BaselineModel.Configuration)
  case knnBaseline(KNNBaselineModel.Configuration)
  case svd(MatrixFactorizationModel.Configuration)
  case svdPlusPlus(SVDPlusPlusModel.Configuration)
  case timeSVD(TimeSVDModel.Configuration)
  case content(ContentModel.Configuration)

  /// The model's name in reports, stores and on the command line.
  public var key: String {
    switch self {
    case .bias: return BiasModel.key
    case .itemKNN: return ItemKNNModel.key
    case .matrixFactorization: return MatrixFactorizationModel.key
    case .baseline: return BaselineModel.key
    case .knnBaseline: return KNNBaselineModel.key
    case .svd: return "svd"
    case .svdPlusPlus: return SVDPlusPlusModel.key
    case .timeSVD: return TimeSVDModel.key
    case .content: return ContentModel.key
    }
  }

  /// True when the model uses the items' content features.
  public var needsItemFeatures: Bool {
    if case .content = self { return true }
    return false
  }

  /// Fits the model on `training`.
  public func fit(_ training: TrainingSet, context: FitContext) -> any RatingModel {
    switch self {
    case .bias:
      return BiasModel.fit(training)
    case .itemKNN(let configuration):
      return ItemKNNModel.fit(training, configuration: configuration)
    case .matrixFactorization(let configuration):
      return MatrixFactorizationModel.fit(training, configuration: configuration) { epoch, rmse in
        context.logger.debug("mf epoch", ["epoch": epoch, "train_rmse": format(rmse)])
      }
    case .baseline(let configuration):
      return BaselineModel.fit(training, configuration: configuration)
    case .knnBaseline(let configuration):
      return KNNBaselineModel.fit(training, configuration: configuration)
    case .svd(let configuration):
      return MatrixFactorizationModel.fit(training, configuration: configuration, key: key)
    case .svdPlusPlus(let configuration):
      return SVDPlusPlusModel.fit(training, configuration: configuration)
    case .timeSVD(let configuration):
      return TimeSVDModel.fit(training, configuration: configuration)
    case .content(let configuration):
      let features =
        context.dataset.map { ItemFeatures.build(dataset: $0, maxTags: configuration.maxTags) }
        ?? ItemFeatures.empty(itemCount: training.itemCount)
      return ContentModel.fit(training, features: features, configuration: configuration)
    }
  }
}

extension ItemFeatures {
  /// Features of no dimension, for data without movie or tag files.
  static func empty(itemCount: Int) -> ItemFeatures {
    ItemFeatures(
      names: [], offsets: [Int](repeating: 0, count: itemCount + 1), indices: [], values: [])
  }
}
