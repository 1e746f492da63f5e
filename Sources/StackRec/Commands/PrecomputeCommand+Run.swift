import Foundation
import Synchronization

/// The precompute's pipeline: load, split, run the experiment, write the
/// store and the report.
extension PrecomputeCommand {
  /// Runs the experiment (or every fold of `--folds-dir`) and writes the
  /// report and, unless disabled, the feature store.
  public static func run(_ settings: Settings, logger: Logger) throws {
    try checkOutputPaths(settings)
    if let directory = settings.foldsDirectory {
      try runFolds(directory: directory, settings: settings, logger: logger)
      return
    }
    let total = Stopwatch()
    let plan = plan(settings)

    var stopwatch = Stopwatch()
    let loaded = try load(settings.source, settings: settings, logger: logger)
    let dataset = loaded.dataset
    let loadSeconds = stopwatch.seconds

    stopwatch = Stopwatch()
    let (split, splitDescription) = try makeSplit(loaded, settings: settings, plan: plan)
    logger.info(
      "split rows",
      [
        "base_train": split.baseTrain.count, "meta_train": split.metaTrain.count,
        "test": split.test.count,
      ])
    let splitSeconds = stopwatch.seconds

    if settings.tune {
      try runTuning(dataset: dataset, split: split, plan: plan, settings: settings, logger: logger)
      return
    }
    // The serving fit on all ratings does not depend on the experiment, so
    // it runs beside it: stages that keep one core busy (SGD) leave the
    // other to it.
    let servingFit = settings.storePath != nil && settings.serveFit == .all
      ? ServingFit.start(
        dataset: dataset, plan: plan, scoreAllPairs: settings.candidates == nil, logger: logger)
      : nil
    let result = Experiment.run(dataset: dataset, split: split, plan: plan, logger: logger)
    try result.checkFinite()

    var storeFields: [(String, JSONValue)] = []
    if let storePath = settings.storePath {
      storeFields = try writeStore(
        dataset: dataset, split: split, result: result, plan: plan, settings: settings,
        path: storePath, servingFit: servingFit, logger: logger)
    }

    var timings: [(String, JSONValue)] = [
      ("load", .number(rounded(loadSeconds))), ("split", .number(rounded(splitSeconds))),
    ]
    timings += result.stageSeconds.map { ($0.stage, .number(rounded($0.seconds))) }
    timings.append(("total", .number(rounded(total.seconds))))
    let report = Report(
      dataset: summary(loaded, settings.source), splitDescription: splitDescription,
      parameters: parametersJSON(settings, plan: plan), result: result,
      extra: [("timings_seconds", .object(timings))]
        + (storeFields.isEmpty ? [] : [("store", .object(storeFields))]))
    try writeReport(report.json, settings: settings, logger: logger, total: total)
    let page = HTMLReport(
      dataset: summary(loaded, settings.source), ratings: dataset.ratings.values, result: result,
      timings: [("load", loadSeconds), ("split", splitSeconds)] + result.stageSeconds
        + [("total", total.seconds)])
    try page.write(directory: settings.reportDirectory, logger: logger)
    print(report.table, terminator: "")
  }

  /// Rejects a store path that is a directory and a report directory that is a file before
  /// any work, instead of failing once the models are fitted.
  static func checkOutputPaths(_ settings: Settings) throws {
    if let path = settings.storePath, directoryExists(path) {
      throw OutputError.cannotWrite(
        path: path, reason: "it is a directory; pass the path of a file to --out")
    }
    let report = settings.reportDirectory
    if FileManager.default.fileExists(atPath: report) && !directoryExists(report) {
      throw OutputError.cannotCreateDirectory(
        path: report, reason: "a file is in the way; pass a directory to --report-dir")
    }
  }

  /// Loads a data source, downloading the default dataset when missing, and
  /// logs what loading repaired.
  static func load(_ source: DataSource, settings: Settings, logger: Logger) throws -> LoadedData {
    if case .directory(let directory) = source,
      settings.isDefaultSource || settings.dataURL != nil
    {
      let url = settings.dataURL ?? DatasetFetcher.defaultURL
      try DatasetFetcher.ensureDataset(
        directory: directory, url: url,
        expectedSHA256: settings.dataSHA256,
        logger: logger)
    }
    let stopwatch = Stopwatch()
    let loaded = try MovieLensLoader.load(source, tags: settings.tagsPath)
    let dataset = loaded.dataset
    logger.info(
      "loaded ratings",
      [
        "ratings": dataset.ratings.count, "users": dataset.userCount, "items": dataset.itemCount,
        "seconds": formatSeconds(stopwatch.seconds),
      ])
    if loaded.droppedDuplicates > 0 {
      logger.warning(
        "dropped duplicate ratings, keeping the latest of each user and movie",
        ["dropped": loaded.droppedDuplicates])
    }
    if loaded.skippedEmptyLines > 0 {
      logger.warning("skipped empty lines", ["lines": loaded.skippedEmptyLines])
    }
    if loaded.repairedTitles > 0 {
      logger.warning("read titles that were not UTF-8 as Latin-1", ["titles": loaded.repairedTitles])
    }
    return loaded
  }

  /// The split to run: the files' own, with meta-train carved from the
  /// training rows when the files give none and hold-out stacking needs
  /// one, or a seeded shuffle.
  static func makeSplit(_ loaded: LoadedData, settings: Settings, plan: ExperimentPlan) throws
    -> (Split, JSONValue)
  {
    var split: Split
    var description: JSONValue
    if let predefined = loaded.predefinedSplit {
      split = predefined
      description = .string("files")
      if split.metaTrain.isEmpty && plan.stacking == .holdout {
        var generator = SeededGenerator(seed: settings.seed)
        var training = split.baseTrain
        generator.shuffle(&training)
        let metaCount = Int((settings.metaFraction * Double(training.count)).rounded(.up))
        split.metaTrain = Array(training[..<metaCount])
        split.baseTrain = Array(training[metaCount...])
        description = .object([
          ("method", .string("files, meta-train drawn from the training file")),
          ("seed", .integer(Int(settings.seed))),
          ("meta_fraction", .number(settings.metaFraction)),
        ])
      }
    } else {
      split = Split.random(
        rowCount: loaded.dataset.ratings.count, seed: settings.seed,
        testFraction: settings.testFraction, metaFraction: settings.metaFraction)
      description = .object([
        ("method", .string("shuffle")),
        ("seed", .integer(Int(settings.seed))),
        ("test_fraction", .number(settings.testFraction)),
        ("meta_fraction", .number(settings.metaFraction)),
      ])
    }
    try checkSplit(split, needsMetaTrain: plan.stacking == .holdout)
    return (split, description)
  }

  /// Cross-validates each model's hyperparameter grid on the training rows
  /// and reports every configuration, best first.
  static func runTuning(
    dataset: Dataset, split: Split, plan: ExperimentPlan, settings: Settings, logger: Logger
  ) throws {
    let total = Stopwatch()
    let rows = split.baseTrain + split.metaTrain
    let keys = plan.models.map(\.key)
    let trials = Tuning.run(
      dataset: dataset, rows: rows, keys: keys, folds: settings.folds, seed: settings.seed,
      logger: logger)
    var table = "model         CV RMSE     configuration\n"
    var members: [(String, JSONValue)] = []
    for key in keys {
      let sorted = trials.filter { $0.key == key }.sorted { $0.rmse < $1.rmse }
      for trial in sorted {
        table += key.padding(to: 14) + format(trial.rmse).padding(to: 12) + trial.description + "\n"
      }
      members.append(
        (
          key,
          .array(
            sorted.map {
              .object([("configuration", .string($0.description)), ("cv_rmse", .number(rounded($0.rmse)))])
            })
        ))
    }
    let json = JSONValue.object([
      ("format", .string("stackrec-tuning/1")),
      ("created_at", .string(Logger.timestamp())),
      ("rows", .integer(rows.count)),
      ("folds", .integer(settings.folds)),
      ("seed", .integer(Int(settings.seed))),
      ("trials", .object(members)),
    ])
    try createDirectories(settings.reportDirectory)
    let path = joinPath(settings.reportDirectory, "tuning.json")
    try writeFileAtomically(path, Array((json.serialized() + "\n").utf8))
    logger.info("wrote tuning results", ["path": path, "seconds": formatSeconds(total.seconds)])
    print(table, terminator: "")
  }

  /// Evaluates every fold of `directory` (`u1.base`/`u1.test` ... `u5`)
  /// and reports per-fold and mean figures.
  static func runFolds(directory: String, settings: Settings, logger: Logger) throws {
    let total = Stopwatch()
    let plan = plan(settings)
    var movies = joinPath(directory, "u.item")
    if !fileExists(movies) { movies = "" }
    var folds: [JSONValue] = []
    var sums: [String: (rmse: Double, mae: Double)] = [:]
    var keys: [String] = []
    var table = ""
    for fold in 1...5 {
      let train = joinPath(directory, "u\(fold).base")
      let test = joinPath(directory, "u\(fold).test")
      guard fileExists(train), fileExists(test) else {
        throw DataError.fileNotFound(path: fileExists(train) ? test : train)
      }
      logger.info("starting fold", ["fold": fold, "train": train, "test": test])
      let source = DataSource.trainTest(train: train, test: test, movies: movies.isEmpty ? nil : movies)
      let loaded = try load(source, settings: settings, logger: logger)
      let (split, _) = try makeSplit(loaded, settings: settings, plan: plan)
      let result = Experiment.run(dataset: loaded.dataset, split: split, plan: plan, logger: logger)
      try result.checkFinite()
      keys = result.test.map(\.key)
      for accuracy in result.test {
        let previous = sums[accuracy.key] ?? (0, 0)
        sums[accuracy.key] = (previous.rmse + accuracy.rmse, previous.mae + accuracy.mae)
      }
      folds.append(
        .object([
          ("fold", .integer(fold)),
          ("test_rmse", .object(result.test.map { ($0.key, .number(rounded($0.rmse))) })),
          ("test_mae", .object(result.test.map { ($0.key, .number(rounded($0.mae))) })),
          ("seconds", .number(rounded(result.stageSeconds.reduce(0) { $0 + $1.seconds }))),
        ]))
      let best = result.test.first { $0.key == "best" }!
      table += "fold \(fold): best test RMSE \(format(best.rmse))\n"
    }
    let json = JSONValue.object([
      ("format", .string("stackrec-report/1")),
      ("created_at", .string(Logger.timestamp())),
      ("folds_dir", .string(directory)),
      ("parameters", parametersJSON(settings, plan: plan)),
      ("folds", .array(folds)),
      ("folds_mean_test_rmse", .object(keys.map { ($0, .number(rounded(sums[$0]!.rmse / 5))) })),
      ("folds_mean_test_mae", .object(keys.map { ($0, .number(rounded(sums[$0]!.mae / 5))) })),
      ("timings_seconds", .object([("total", .number(rounded(total.seconds)))])),
    ])
    try writeReport(json, settings: settings, logger: logger, total: total)
    table += "\nmodel         mean test RMSE over 5 folds\n"
    for key in keys.filter({ $0 != "best" }).sorted(by: { sums[$0]!.rmse < sums[$1]!.rmse }) {
      table += key.padding(to: 14) + format(sums[key]!.rmse / 5) + "\n"
    }
    print(table, terminator: "")
  }

  /// Fits the served models, scores every pair and publishes the store.
  ///
  /// - Returns: the report's `store` section.
  static func writeStore(
    dataset: Dataset, split: Split, result: ExperimentResult, plan: ExperimentPlan,
    settings: Settings, path: String, servingFit: ServingFit? = nil, logger: Logger
  ) throws -> [(String, JSONValue)] {
    let stopwatch = Stopwatch()
    let training: TrainingSet
    let models: [any RatingModel]
    var stored: [StoredModel]?
    switch settings.serveFit {
    case .base:
      training = TrainingSet(dataset: dataset, rows: split.baseTrain)
      if plan.stacking == .holdout {
        models = result.models
      } else {
        logger.info("fitting the base models on base-train for serving", ["rows": training.ratings.count])
        models = Experiment.fitAll(plan.models, training, fitContext(plan, dataset, logger))
      }
    case .all:
      let fit =
        servingFit
        ?? ServingFit.start(
          dataset: dataset, plan: plan, scoreAllPairs: settings.candidates == nil, logger: logger)
      (training, models, stored) = fit.wait()
    }
    let fitSeconds = stopwatch.seconds

    let scoring = Stopwatch()
    let blend = result.blends[plan.metaLearner.key]!
    let content =
      settings.candidates.map {
        FeatureStoreBuilder.candidateContent(
          dataset: dataset, training: training, models: models, blend: blend,
          serveFit: settings.serveFit, candidates: $0, logger: logger)
      }
      ?? FeatureStoreBuilder.content(
        dataset: dataset, training: training,
        stored: stored ?? FeatureStoreBuilder.score(models, logger: logger), blend: blend,
        serveFit: settings.serveFit)
    let scoreSeconds = scoring.seconds

    let summary = try FeatureStoreWriter.write(
      content, to: path, waitForLock: settings.waitForLock)
    for stale in summary.removedTemporaryFiles {
      logger.warning("removed a temporary file that an interrupted run left", ["path": stale])
    }
    logger.info(
      "published feature store",
      [
        "path": path, "bytes": summary.bytes,
        "ratio_to_raw_float32": format(summary.ratio, decimals: 4),
        "encode_seconds": formatSeconds(summary.encodeSeconds),
        "write_seconds": formatSeconds(summary.writeSeconds),
      ])
    return [
      ("path", .string(path)),
      ("serve_fit", .string(settings.serveFit.rawValue)),
      ("bytes", .integer(summary.bytes)),
      ("raw_float32_bytes", .integer(summary.rawScoreBytes)),
      ("ratio_to_raw", .number(rounded(summary.ratio))),
      ("blob_bytes", .integer(summary.blobBytes)),
      ("fit_seconds", .number(rounded(fitSeconds))),
      ("score_seconds", .number(rounded(scoreSeconds))),
      ("encode_seconds", .number(rounded(summary.encodeSeconds))),
      ("write_seconds", .number(rounded(summary.writeSeconds))),
    ]
  }

  static func fitContext(_ plan: ExperimentPlan, _ dataset: Dataset, _ logger: Logger) -> FitContext {
    FitContext(dataset: dataset, logger: logger)
  }

  static func writeReport(_ json: JSONValue, settings: Settings, logger: Logger, total: Stopwatch)
    throws
  {
    try createDirectories(settings.reportDirectory)
    let reportPath = joinPath(settings.reportDirectory, "report.json")
    try writeFileAtomically(reportPath, Array((json.serialized() + "\n").utf8))
    logger.info("wrote report", ["path": reportPath, "seconds": formatSeconds(total.seconds)])
  }

  /// Rejects a split whose training or test part is empty.
  static func checkSplit(_ split: Split, needsMetaTrain: Bool = true) throws {
    if split.baseTrain.isEmpty {
      throw UsageError("the base-train split is empty; lower --test-fraction or --meta-fraction")
    }
    if split.metaTrain.isEmpty && needsMetaTrain {
      throw UsageError("the meta-train split is empty; raise --meta-fraction or add ratings")
    }
    if split.test.isEmpty {
      throw UsageError("the test split is empty; raise --test-fraction or add ratings")
    }
  }

  static func summary(_ loaded: LoadedData, _ source: DataSource) -> Report.DatasetSummary {
    let dataset = loaded.dataset
    return Report.DatasetSummary(
      source: describe(source), fingerprint: dataset.fingerprint, ratings: dataset.ratings.count,
      users: dataset.userCount, items: dataset.itemCount,
      droppedDuplicates: loaded.droppedDuplicates, ratingScale: dataset.ratingScale)
  }

  static func describe(_ source: DataSource) -> String {
    switch source {
    case .directory(let directory): return directory
    case .files(let ratings, _): return ratings
    case .splitFiles(let base, let meta, let test, _): return "\(base), \(meta), \(test)"
    case .trainTest(let train, let test, _): return "\(train), \(test)"
    }
  }

  static func parametersJSON(_ settings: Settings, plan: ExperimentPlan) -> JSONValue {
    let stacking: JSONValue
    switch plan.stacking {
    case .holdout: stacking = .string("holdout")
    case .outOfFold(let folds): stacking = .string("oof, \(folds) folds")
    }
    return .object([
      ("seed", .integer(Int(settings.seed))),
      ("preset", .string(settings.preset.rawValue)),
      ("models", .array(plan.models.map { .string($0.key) })),
      ("stacking", stacking),
      ("meta_learner", .string(plan.metaLearner.key)),
      ("knn_neighbors", .integer(settings.models.knn.neighbors)),
      ("mf_factors", .integer(settings.models.mf.factors)),
      ("mf_epochs", .integer(settings.models.mf.epochs)),
      ("mf_learning_rate", .number(settings.models.mf.learningRate)),
      ("mf_regularization", .number(settings.models.mf.regularization)),
      ("mf_init_std", .number(settings.models.mf.initStandardDeviation)),
    ])
  }
}

/// The base models refitted on every rating, and for a dense store their
/// scores of every pair, computed on a thread of its own: neither needs
/// the experiment's blend.
final class ServingFit: Sendable {
  private let done = DispatchSemaphore(value: 0)
  private let result = Mutex<(TrainingSet, [any RatingModel], [StoredModel]?)?>(nil)

  /// Starts fitting `plan`'s models on all of `dataset`'s ratings and, when
  /// `scoreAllPairs` is true, scoring every pair with them.
  static func start(
    dataset: Dataset, plan: ExperimentPlan, scoreAllPairs: Bool, logger: Logger
  ) -> ServingFit {
    let fit = ServingFit()
    Thread.detachNewThread {
      let training = TrainingSet(dataset: dataset, rows: Array(0..<dataset.ratings.count))
      logger.info("refitting the base models on all ratings", ["rows": training.ratings.count])
      let models = Experiment.fitAll(
        plan.models, training, FitContext(dataset: dataset, logger: logger))
      let stored = scoreAllPairs ? FeatureStoreBuilder.score(models, logger: logger) : nil
      fit.result.withLock { $0 = (training, models, stored) }
      fit.done.signal()
    }
    return fit
  }

  /// Waits for the work and returns the training set, the models and, if
  /// requested, their scores.
  func wait() -> (TrainingSet, [any RatingModel], [StoredModel]?) {
    done.wait()
    return result.withLock { $0! }
  }
}
