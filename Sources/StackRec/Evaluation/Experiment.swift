import Dispatch
import Synchronization

/// The hyperparameters of the reference configuration's three models.
public struct ModelConfiguration: Sendable, Equatable {
  public var knn = ItemKNNModel.Configuration()
  public var mf = MatrixFactorizationModel.Configuration()

  public init() {}

  /// The three models in blend order: bias, item kNN, matrix factorisation.
  public var specs: [BaseModelSpec] {
    [.bias, .itemKNN(knn), .matrixFactorization(mf)]
  }
}

/// How the meta-learner's training predictions are produced.
public enum Stacking: Sendable, Equatable {
  /// Base models fit on base-train and predict meta-train; the reported
  /// models are those fits.
  case holdout
  /// The training rows (base-train plus meta-train) are cut into `folds`
  /// parts; each part is predicted by models fit on the others, and the
  /// meta-learner fits on these out-of-fold predictions. The base models
  /// are then refit on all training rows.
  case outOfFold(folds: Int)
}

/// Everything an experiment runs.
public struct ExperimentPlan: Sendable {
  public var models: [BaseModelSpec]
  public var stacking: Stacking
  /// The meta-learner whose blend is served and reported as `best`.
  public var metaLearner: MetaLearner
  /// The seed of the fold assignment and of the meta-learners' penalty search.
  public var seed: UInt64
  /// The K of the ranking metrics; 0 skips them.
  public var rankingK: Int

  public init(
    models: [BaseModelSpec], stacking: Stacking = .holdout, metaLearner: MetaLearner = .leastSquares,
    seed: UInt64 = 42, rankingK: Int = 10
  ) {
    self.models = models
    self.stacking = stacking
    self.metaLearner = metaLearner
    self.seed = seed
    self.rankingK = rankingK
  }
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

/// What a stacking experiment produced: fitted models, blends, accuracy.
public struct ExperimentResult: Sendable {
  /// The base models whose test predictions are reported, in blend order:
  /// fit on base-train (hold-out) or on all training rows (out-of-fold).
  public var models: [any RatingModel]
  /// The least-squares stack, always fitted.
  public var stacker: LinearStacker
  /// Every meta-learner's blend, by key.
  public var blends: [String: BlendModel]
  /// The served blend's meta-learner.
  public var served: MetaLearner
  /// Test accuracy of each base model, then each ensemble, then `best`.
  public var test: [Accuracy]
  /// Top-K ranking accuracy of each base model and ensemble, in the order
  /// of `test`, or empty when the plan skips it.
  public var ranking: [RankingAccuracy] = []
  /// The users the ranking metrics average over, and their K.
  public var rankingUsers = 0
  public var rankingK = 0
  /// Each base model's RMSE on the meta-learner's training predictions.
  public var metaRMSE: [String: Double]
  /// The rows in each part of the split.
  public var splitSizes: (baseTrain: Int, metaTrain: Int, test: Int)
  /// True test ratings and each model's and ensemble's test predictions, by key.
  public var testTruth: [Double]
  public var testPredictions: [String: [Double]]
  /// The training RMSE per epoch of the reference matrix factorisation.
  public var mfEpochRMSE: [Double]
  /// Wall time of each stage, in order.
  public var stageSeconds: [(stage: String, seconds: Double)]
}

/// Runs a stacking experiment: base models, their predictions for the
/// meta-learner's training rows, every meta-learner, and the test scores.
public enum Experiment {
  /// The reference configuration's model keys in blend order.
  public static let baseModelKeys = [BiasModel.key, ItemKNNModel.key, MatrixFactorizationModel.key]

  /// Runs the reference configuration: hold-out stacking of bias, item kNN
  /// and matrix factorisation with least squares.
  public static func run(
    dataset: Dataset, split: Split, configuration: ModelConfiguration, logger: Logger
  ) -> ExperimentResult {
    run(dataset: dataset, split: split, plan: ExperimentPlan(models: configuration.specs), logger: logger)
  }

  public static func run(
    dataset: Dataset, split: Split, plan: ExperimentPlan, logger: Logger
  ) -> ExperimentResult {
    var stages: [(String, Double)] = []
    func timed<T>(_ stage: String, _ work: () -> T) -> T {
      let stopwatch = Stopwatch()
      let result = work()
      stages.append((stage, stopwatch.seconds))
      logger.info("finished \(stage)", ["seconds": formatSeconds(stopwatch.seconds)])
      return result
    }
    let context = FitContext(dataset: dataset, logger: logger)

    // Training predictions for the meta-learner, and the models for test.
    let metaRows: [Int]
    let metaPredictions: [[Double]]
    var heldTestPredictions: [[Double]]?
    let models: [any RatingModel]
    let finalTraining: TrainingSet
    switch plan.stacking {
    case .holdout:
      finalTraining = timed("index_training") { TrainingSet(dataset: dataset, rows: split.baseTrain) }
      models = timed("fit_base_models") { fitAll(plan.models, finalTraining, context) }
      metaRows = split.metaTrain
      // Meta-train and test in one batch, so each model's per-item work
      // (item kNN's similarity rows) is done once.
      let both = timed("predict_meta_train_and_test") {
        predictAll(models, dataset, metaRows + split.test)
      }
      metaPredictions = both.map { Array($0[..<metaRows.count]) }
      heldTestPredictions = both.map { Array($0[metaRows.count...]) }
    case .outOfFold(let folds):
      let trainRows = split.baseTrain + split.metaTrain
      metaRows = trainRows
      metaPredictions = timed("out_of_fold_predictions") {
        outOfFoldPredictions(
          plan.models, dataset: dataset, rows: trainRows, folds: folds, seed: plan.seed,
          context: context)
      }
      finalTraining = timed("index_training") { TrainingSet(dataset: dataset, rows: trainRows) }
      models = timed("fit_base_models") { fitAll(plan.models, finalTraining, context) }
    }

    // Every meta-learner, on the same training predictions.
    let metaTruth = metaRows.map { Double(dataset.ratings.values[$0]) }
    var metaRMSE: [String: Double] = [:]
    for (model, predictions) in zip(models, metaPredictions) {
      metaRMSE[model.key] = Metrics.rmse(predictions, metaTruth)
    }
    let metaSupport = support(of: metaRows, dataset: dataset, training: finalTraining)
    var blends: [String: BlendModel] = [:]
    timed("fit_meta_models") {
      for learner in MetaLearner.all {
        blends[learner.key] = learner.fit(
          predictions: metaPredictions, targets: metaTruth, userSupport: metaSupport.users,
          itemSupport: metaSupport.items, seed: plan.seed)
      }
    }
    let stackerBlend = blends[MetaLearner.leastSquares.key]!
    let stacker = LinearStacker(intercept: stackerBlend.intercept, weights: stackerBlend.weights)
    var weightFields: [String: any CustomStringConvertible] = [
      "intercept": format(stacker.intercept)
    ]
    for (model, weight) in zip(models, stacker.weights) { weightFields[model.key] = format(weight) }
    logger.info("least-squares meta-model", weightFields)

    // Test predictions of every model and ensemble.
    let testTruth = split.test.map { Double(dataset.ratings.values[$0]) }
    let basePredictions =
      heldTestPredictions ?? timed("predict_test") { predictAll(models, dataset, split.test) }
    let testSupport = support(of: split.test, dataset: dataset, training: finalTraining)
    var predictions: [String: [Double]] = [:]
    for (model, values) in zip(models, basePredictions) { predictions[model.key] = values }
    predictions[AverageEnsemble.key] = AverageEnsemble().combine(columns: basePredictions)
    for learner in MetaLearner.all {
      predictions[learner.key] = blendAll(
        blends[learner.key]!, basePredictions, users: testSupport.users, items: testSupport.items)
    }
    predictions["best"] = predictions[plan.metaLearner.key]

    let keys = models.map(\.key) + [AverageEnsemble.key] + MetaLearner.all.map(\.key) + ["best"]
    let accuracy = keys.map {
      Accuracy(key: $0, predictions: predictions[$0]!, truth: testTruth, scale: dataset.ratingScale)
    }
    let mf = models.compactMap { $0 as? MatrixFactorizationModel }.first { $0.key == MatrixFactorizationModel.key }
    var result = ExperimentResult(
      models: models, stacker: stacker, blends: blends, served: plan.metaLearner, test: accuracy,
      metaRMSE: metaRMSE,
      splitSizes: (split.baseTrain.count, split.metaTrain.count, split.test.count),
      testTruth: testTruth, testPredictions: predictions, mfEpochRMSE: mf?.epochRMSE ?? [],
      stageSeconds: stages)
    if plan.rankingK > 0 {
      // Scoring every item costs about items x ratings-per-user per user, so
      // large catalogues evaluate a sample of users.
      let evaluator = RankingEvaluator(
        dataset: dataset, testRows: split.test, training: finalTraining, k: plan.rankingK,
        maxUsers: max(100, min(2000, 10_000_000 / max(dataset.itemCount, 1))), seed: plan.seed)
      result.ranking = timed("ranking_metrics") {
        ranking(models: models, blends: blends, served: plan.metaLearner, training: finalTraining,
          evaluator: evaluator)
      }
      result.rankingUsers = evaluator.userCount
      result.rankingK = plan.rankingK
    }
    result.stageSeconds = stages
    return result
  }

  /// Ranking accuracy of every model and ensemble. Each model's score
  /// matrix is computed once; the ensembles' scores for the evaluated users
  /// are accumulated from them.
  static func ranking(
    models: [any RatingModel], blends: [String: BlendModel], served: MetaLearner,
    training: TrainingSet, evaluator: RankingEvaluator
  ) -> [RankingAccuracy] {
    let itemCount = training.itemCount
    let users = evaluator.users
    let itemSupport = (0..<itemCount).map { Int32(training.byItem.count(ofRow: $0)) }
    let userSupport = users.map { Int32(training.byUser.count(ofRow: $0)) }

    // Each model scores only the evaluated users: row p is users[p].
    let matrices = models.map { model -> [Float] in
      var matrix = [Float](repeating: 0, count: users.count * itemCount)
      matrix.withUnsafeMutableBufferPointer { model.scoreRows(users: users, into: $0) }
      return matrix
    }
    var results: [RankingAccuracy] = []
    for (model, matrix) in zip(models, matrices) {
      results.append(
        evaluator.evaluate(key: model.key) { position, row in
          let start = position * itemCount
          for item in 0..<itemCount { row[item] = matrix[start + item] }
        })
    }

    // Ensembles blend the model rows one user at a time.
    results.append(
      evaluator.evaluate(key: AverageEnsemble.key) { position, row in
        let share = Float(1) / Float(models.count)
        for item in 0..<itemCount { row[item] = 0 }
        for matrix in matrices {
          for item in 0..<itemCount { row[item] += share * matrix[position * itemCount + item] }
        }
      })
    for learner in MetaLearner.all {
      let blend = blends[learner.key]!.prepared(itemSupport: itemSupport)
      results.append(
        evaluator.evaluate(key: learner.key) { position, row in
          let terms = blend.userTerms(userSupport: userSupport[position])
          for item in 0..<itemCount { row[item] = Float(terms.intercept + blend.itemIntercepts[item]) }
          for (index, matrix) in matrices.enumerated() {
            let userWeight = terms.weights[index]
            let itemWeights = blend.itemWeights[index]
            for item in 0..<itemCount {
              let weight = Float(userWeight + itemWeights[item])
              row[item] += weight * matrix[position * itemCount + item]
            }
          }
        })
    }
    var best = results.first { $0.key == served.key }!
    best.key = "best"
    results.append(best)
    return results
  }

  /// Fits the three reference models on `training`, in blend order.
  public static func fitBaseModels(
    _ training: TrainingSet, configuration: ModelConfiguration, logger: Logger
  ) -> [any RatingModel] {
    fitAll(configuration.specs, training, FitContext(logger: logger))
  }

  /// Fits every model, in parallel, in the order given.
  public static func fitAll(
    _ specs: [BaseModelSpec], _ training: TrainingSet, _ context: FitContext
  ) -> [any RatingModel] {
    let fitted = Mutex<[Int: any RatingModel]>([:])
    DispatchQueue.concurrentPerform(iterations: specs.count) { index in
      let stopwatch = Stopwatch()
      let model = specs[index].fit(training, context: context)
      context.logger.info(
        "fitted \(specs[index].key)",
        ["rows": training.ratings.count, "seconds": formatSeconds(stopwatch.seconds)])
      fitted.withLock { $0[index] = model }
    }
    return fitted.withLock { models in specs.indices.map { models[$0]! } }
  }

  /// Each model's predictions for `rows` of `dataset`, at the rows' times.
  static func predictAll(_ models: [any RatingModel], _ dataset: Dataset, _ rows: [Int])
    -> [[Double]]
  {
    let users = rows.map { dataset.ratings.users[$0] }
    let items = rows.map { dataset.ratings.items[$0] }
    let times = dataset.hasTimestamps ? rows.map { dataset.ratings.timestamps[$0] } : nil
    let results = Mutex<[Int: [Double]]>([:])
    DispatchQueue.concurrentPerform(iterations: models.count) { index in
      let values = models[index].predict(users: users, items: items, timestamps: times)
      results.withLock { $0[index] = values }
    }
    return results.withLock { values in models.indices.map { values[$0]! } }
  }

  /// Assigns each of `count` rows to one of `folds` folds, in equal parts
  /// after a seeded shuffle.
  public static func foldAssignment(count: Int, folds: Int, seed: UInt64) -> [Int] {
    precondition(folds >= 2, "out-of-fold stacking needs at least 2 folds, got \(folds)")
    var generator = SeededGenerator(seed: seed ^ 0x5F0F_0F0F)
    var order = Array(0..<count)
    generator.shuffle(&order)
    var assignment = [Int](repeating: 0, count: count)
    for (position, row) in order.enumerated() { assignment[row] = position % folds }
    return assignment
  }

  /// Each model's prediction for every row of `rows`, made by a model fit
  /// on the other folds only.
  static func outOfFoldPredictions(
    _ specs: [BaseModelSpec], dataset: Dataset, rows: [Int], folds: Int, seed: UInt64,
    context: FitContext
  ) -> [[Double]] {
    let assignment = foldAssignment(count: rows.count, folds: folds, seed: seed)
    var predictions = [[Double]](
      repeating: [Double](repeating: 0, count: rows.count), count: specs.count)
    for fold in 0..<folds {
      let held = (0..<rows.count).filter { assignment[$0] == fold }
      let kept = (0..<rows.count).filter { assignment[$0] != fold }
      let training = TrainingSet(dataset: dataset, rows: kept.map { rows[$0] })
      let models = fitAll(specs, training, context)
      let heldPredictions = predictAll(models, dataset, held.map { rows[$0] })
      for model in 0..<specs.count {
        for (position, index) in held.enumerated() {
          predictions[model][index] = heldPredictions[model][position]
        }
      }
      context.logger.info("finished fold", ["fold": fold + 1, "of": folds])
    }
    return predictions
  }

  /// The training support of each row's user and item.
  static func support(of rows: [Int], dataset: Dataset, training: TrainingSet)
    -> (users: [Int32], items: [Int32])
  {
    (
      rows.map { Int32(training.byUser.count(ofRow: Int(dataset.ratings.users[$0]))) },
      rows.map { Int32(training.byItem.count(ofRow: Int(dataset.ratings.items[$0]))) }
    )
  }

  /// Applies a blend to column-wise predictions.
  static func blendAll(
    _ blend: BlendModel, _ predictions: [[Double]], users: [Int32], items: [Int32]
  ) -> [Double] {
    (0..<users.count).map { sample in
      let terms = blend.terms(userSupport: users[sample], itemSupport: items[sample])
      var value = terms.intercept
      for model in 0..<predictions.count {
        value += terms.weights[model] * predictions[model][sample]
      }
      return value
    }
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
