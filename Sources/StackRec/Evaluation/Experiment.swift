/// The hyperparameters of every base model.
public struct ModelConfiguration: Sendable, Equatable {
  public var knn = ItemKNNModel.Configuration()
  public var mf = MatrixFactorizationModel.Configuration()

  public init() {}
}

/// One model's or ensemble's accuracy on a set of pairs.
public struct Accuracy: Sendable, Equatable {
  public var key: String
  /// RMSE and MAE of the raw predictions.
  public var rmse: Double
  public var mae: Double
  /// RMSE and MAE after clipping predictions to the rating scale.
  public var rmseClipped: Double
  public var maeClipped: Double

  init(key: String, predictions: [Double], truth: [Double], scale: ClosedRange<Float>) {
    self.key = key
    rmse = Metrics.rmse(predictions, truth)
    mae = Metrics.mae(predictions, truth)
    let clipped = Metrics.clip(predictions, to: scale)
    rmseClipped = Metrics.rmse(clipped, truth)
    maeClipped = Metrics.mae(clipped, truth)
  }
}

/// What a stacking experiment produced: fitted models, weights, accuracy.
public struct ExperimentResult: Sendable {
  /// The base models fitted on base-train, in blend order.
  public var models: [any RatingModel]
  public var stacker: LinearStacker
  /// Test accuracy of each base model, then the average and the stack.
  public var test: [Accuracy]
  /// Meta-train RMSE of each base model.
  public var metaRMSE: [String: Double]
  /// The rows in each part of the split.
  public var splitSizes: (baseTrain: Int, metaTrain: Int, test: Int)
  /// True test ratings and each model's and ensemble's test predictions, by key.
  public var testTruth: [Double]
  public var testPredictions: [String: [Double]]
  /// The training RMSE per epoch of the matrix factorisation model.
  public var mfEpochRMSE: [Double]
  /// Wall time of each stage, in order.
  public var stageSeconds: [(stage: String, seconds: Double)]
}

/// Runs the hold-out stacking experiment: base models fit on base-train,
/// the meta-learner fits on their meta-train predictions, and everything is
/// scored on test.
public enum Experiment {
  /// The base model keys in blend order.
  public static let baseModelKeys = [BiasModel.key, ItemKNNModel.key, MatrixFactorizationModel.key]

  public static func run(
    dataset: Dataset, split: Split, configuration: ModelConfiguration, logger: Logger
  ) -> ExperimentResult {
    var stages: [(String, Double)] = []
    func timed<T>(_ stage: String, _ work: () -> T) -> T {
      let stopwatch = Stopwatch()
      let result = work()
      stages.append((stage, stopwatch.seconds))
      return result
    }

    let training = timed("index_base_train") {
      TrainingSet(dataset: dataset, rows: split.baseTrain)
    }
    logger.info(
      "base-train indexed",
      ["rows": training.ratings.count, "users": training.userCount, "items": training.itemCount])

    let models = timed("fit_base_models") {
      fitBaseModels(training, configuration: configuration, logger: logger)
    }

    let meta = dataset.ratings.subset(split.metaTrain)
    let metaTruth = meta.values.map(Double.init)
    let metaPredictions = timed("predict_meta_train") {
      models.map { $0.predict(users: meta.users, items: meta.items) }
    }
    var metaRMSE: [String: Double] = [:]
    for (model, predictions) in zip(models, metaPredictions) {
      metaRMSE[model.key] = Metrics.rmse(predictions, metaTruth)
    }

    let stacker = timed("fit_meta_model") {
      LinearStacker.fit(predictions: metaPredictions, targets: metaTruth)
    }
    var weightFields: [String: any CustomStringConvertible] = [
      "intercept": format(stacker.intercept)
    ]
    for (model, weight) in zip(models, stacker.weights) { weightFields[model.key] = format(weight) }
    logger.info("meta-model fitted", weightFields)

    let test = dataset.ratings.subset(split.test)
    let testTruth = test.values.map(Double.init)
    var predictions: [String: [Double]] = [:]
    let basePredictions = timed("predict_test") {
      models.map { $0.predict(users: test.users, items: test.items) }
    }
    for (model, values) in zip(models, basePredictions) { predictions[model.key] = values }
    predictions[AverageEnsemble.key] = AverageEnsemble().combine(columns: basePredictions)
    predictions[LinearStacker.key] = stacker.combine(columns: basePredictions)

    let keys = models.map(\.key) + [AverageEnsemble.key, LinearStacker.key]
    let accuracy = keys.map {
      Accuracy(key: $0, predictions: predictions[$0]!, truth: testTruth, scale: dataset.ratingScale)
    }
    let mf = models.compactMap { $0 as? MatrixFactorizationModel }.first
    return ExperimentResult(
      models: models, stacker: stacker, test: accuracy, metaRMSE: metaRMSE,
      splitSizes: (split.baseTrain.count, split.metaTrain.count, split.test.count),
      testTruth: testTruth, testPredictions: predictions, mfEpochRMSE: mf?.epochRMSE ?? [],
      stageSeconds: stages)
  }

  /// Fits the three base models on `training`, in blend order.
  public static func fitBaseModels(
    _ training: TrainingSet, configuration: ModelConfiguration, logger: Logger
  ) -> [any RatingModel] {
    var stopwatch = Stopwatch()
    let bias = BiasModel.fit(training)
    logger.info("fitted bias", ["seconds": formatSeconds(stopwatch.seconds)])

    stopwatch = Stopwatch()
    let knn = ItemKNNModel.fit(training, configuration: configuration.knn)
    logger.info(
      "fitted item_knn",
      ["neighbors": configuration.knn.neighbors, "seconds": formatSeconds(stopwatch.seconds)])

    stopwatch = Stopwatch()
    let mf = MatrixFactorizationModel.fit(training, configuration: configuration.mf) {
      epoch, rmse in
      logger.info("mf epoch", ["epoch": epoch, "train_rmse": format(rmse)])
    }
    logger.info(
      "fitted mf",
      ["factors": configuration.mf.factors, "seconds": formatSeconds(stopwatch.seconds)])
    return [bias, knn, mf]
  }
}

/// Formats a metric with six decimals for logs and tables.
func format(_ value: Double, decimals: Int = 6) -> String {
  let scale = [1.0, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8][min(decimals, 8)]
  let rounded = (value * scale).rounded() / scale
  var text = String(rounded)
  if text.contains("e") { return text }
  if !text.contains(".") { text += "." }
  let fraction = text.split(separator: ".", omittingEmptySubsequences: false)[1].count
  if fraction < decimals { text += String(repeating: "0", count: decimals - fraction) }
  return text
}
