import Glibc

/// The `stackrec-precompute` program: load, split, fit, stack, evaluate,
/// and write the report.
public enum PrecomputeCommand {
  public static let overview = """
    Fit the base models and the stacking meta-learner on MovieLens ratings, \
    report test RMSE, and write the report.
    """

  public static let specs: [OptionSpec] = [
    OptionSpec(
      "--data", ["DIR"],
      help: "MovieLens directory with ratings.csv and optionally movies.csv (default: "
        + "data/ml-latest-small, downloaded when missing)."),
    OptionSpec("--ratings", ["FILE"], help: "Ratings CSV file to read instead of --data."),
    OptionSpec("--movies", ["FILE"], help: "Movies CSV file with titles (optional)."),
    OptionSpec(
      "--split-files", ["BASE", "META", "TEST"],
      help: "Use three CSV files (userId,movieId,rating[,timestamp]) as the base-train, "
        + "meta-train and test split, as given."),
    OptionSpec(
      "--data-url", ["URL"],
      help: "Where to download the dataset archive when the data directory is missing "
        + "(http, https or file URL; default: the official ml-latest-small.zip)."),
    OptionSpec("--seed", ["N"], help: "Seed of the split and of the models' randomness (default 42)."),
    OptionSpec("--test-fraction", ["F"], help: "Fraction of rows held out for test (default 0.2)."),
    OptionSpec(
      "--meta-fraction", ["F"],
      help: "Fraction of the remaining rows used as meta-train (default 0.2)."),
    OptionSpec("--knn-neighbors", ["K"], help: "Item kNN neighbourhood size (default 40)."),
    OptionSpec("--mf-factors", ["N"], help: "Matrix factorisation latent factors (default 30)."),
    OptionSpec("--mf-epochs", ["N"], help: "Matrix factorisation SGD epochs (default 12)."),
    OptionSpec("--mf-learning-rate", ["LR"], help: "Matrix factorisation SGD step size (default 0.01)."),
    OptionSpec(
      "--mf-regularization", ["REG"], help: "Matrix factorisation L2 penalty (default 0.05)."),
    OptionSpec(
      "--mf-init-std", ["SD"],
      help: "Standard deviation of the initial factors (default 0.1)."),
    OptionSpec(
      "--report-dir", ["DIR"], help: "Directory for report.json (default: artifacts)."),
    OptionSpec(
      "--out", ["PATH"],
      help: "Feature store to write (default: artifacts/feature-store.sqlite)."),
    OptionSpec(
      "--serve-fit", ["all|base"],
      help: "Serve models refitted on all ratings (all, the default) or exactly as evaluated "
        + "on base-train (base)."),
    OptionSpec("--no-store", help: "Evaluate only; write no feature store."),
    OptionSpec(
      "--wait-lock",
      help: "Wait for another precompute writing the same store instead of failing."),
    OptionSpec("--quiet", help: "Log only warnings and errors."),
  ]

  /// The settings of one run, parsed and checked.
  public struct Settings: Sendable {
    public var source: DataSource = .directory("data/ml-latest-small")
    public var isDefaultSource = true
    public var dataURL: String?
    public var seed: UInt64 = 42
    public var testFraction = 0.2
    public var metaFraction = 0.2
    public var models = ModelConfiguration()
    public var reportDirectory = "artifacts"
    public var storePath: String? = "artifacts/feature-store.sqlite"
    public var serveFit = ServeFit.all
    public var waitForLock = false
    public var quiet = false
    public var showHelp = false
  }

  /// Runs the program and returns its exit status.
  public static func main(_ arguments: [String]) -> Int32 {
    let settings: Settings
    do {
      settings = try parse(Array(arguments.dropFirst()))
    } catch {
      printError("\(error)")
      printError("run 'stackrec-precompute --help' for the options")
      return 64
    }
    if settings.showHelp {
      print(
        helpText(
          program: "stackrec-precompute", overview: overview, usage: "[options]", specs: specs),
        terminator: "")
      return 0
    }
    let logger = Logger(label: "precompute", threshold: settings.quiet ? .warning : .info)
    do {
      try run(settings, logger: logger)
      return 0
    } catch {
      printError("\(error)")
      return 1
    }
  }

  /// Parses and checks the command line.
  public static func parse(_ arguments: [String]) throws -> Settings {
    let options = try ParsedOptions.parse(arguments, specs: specs)
    var settings = Settings()
    settings.showHelp = options.has("--help")

    let sources = ["--data", "--ratings", "--split-files"].filter { options.has($0) }
    if sources.count > 1 {
      throw UsageError("\(sources.joined(separator: " and ")) cannot be combined; pick one source")
    }
    let movies = options.string("--movies")
    if let directory = options.string("--data") {
      if movies != nil {
        throw UsageError("--movies needs --ratings or --split-files; --data reads DIR/movies.csv")
      }
      settings.source = .directory(directory)
      settings.isDefaultSource = false
    } else if let ratings = options.string("--ratings") {
      settings.source = .files(ratings: ratings, movies: movies)
      settings.isDefaultSource = false
    } else if let files = options.strings("--split-files") {
      settings.source = .splitFiles(base: files[0], meta: files[1], test: files[2], movies: movies)
      settings.isDefaultSource = false
    } else if movies != nil {
      throw UsageError("--movies needs --ratings or --split-files")
    }
    settings.dataURL = options.string("--data-url")

    if let seed = try options.integer("--seed", in: 0...Int.max) { settings.seed = UInt64(seed) }
    if let value = try options.number("--test-fraction", in: 0.0...0.9) {
      settings.testFraction = value
    }
    if let value = try options.number("--meta-fraction", in: 0.0...0.9) {
      settings.metaFraction = value
    }
    if let value = try options.integer("--knn-neighbors", in: 1...100_000) {
      settings.models.knn.neighbors = value
    }
    if let value = try options.integer("--mf-factors", in: 1...1024) {
      settings.models.mf.factors = value
    }
    if let value = try options.integer("--mf-epochs", in: 0...10_000) {
      settings.models.mf.epochs = value
    }
    if let value = try options.number("--mf-learning-rate", in: 0.0...1.0) {
      settings.models.mf.learningRate = value
    }
    if let value = try options.number("--mf-regularization", in: 0.0...100.0) {
      settings.models.mf.regularization = value
    }
    if let value = try options.number("--mf-init-std", in: 0.0...10.0) {
      settings.models.mf.initStandardDeviation = value
    }
    settings.models.mf.seed = settings.seed
    if let directory = options.string("--report-dir") { settings.reportDirectory = directory }
    if let path = options.string("--out") { settings.storePath = path }
    if let fit = try options.choice("--serve-fit", from: ServeFit.allCases.map(\.rawValue)) {
      settings.serveFit = ServeFit(rawValue: fit)!
    }
    if options.has("--no-store") {
      if options.has("--out") { throw UsageError("--out and --no-store cannot be combined") }
      settings.storePath = nil
    }
    settings.waitForLock = options.has("--wait-lock")
    settings.quiet = options.has("--quiet")
    return settings
  }

  /// Runs the experiment and writes the report.
  public static func run(_ settings: Settings, logger: Logger) throws {
    let total = Stopwatch()

    if case .directory(let directory) = settings.source,
      settings.isDefaultSource || settings.dataURL != nil
    {
      let url = settings.dataURL ?? DatasetFetcher.defaultURL
      try DatasetFetcher.ensureDataset(
        directory: directory, url: url,
        expectedSHA256: url == DatasetFetcher.defaultURL ? DatasetFetcher.defaultSHA256 : nil,
        logger: logger)
    }

    var stopwatch = Stopwatch()
    let loaded = try MovieLensLoader.load(settings.source)
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
    let loadSeconds = stopwatch.seconds

    stopwatch = Stopwatch()
    let split: Split
    let splitDescription: JSONValue
    if let predefined = loaded.predefinedSplit {
      split = predefined
      splitDescription = .string("files")
    } else {
      split = Split.random(
        rowCount: dataset.ratings.count, seed: settings.seed,
        testFraction: settings.testFraction, metaFraction: settings.metaFraction)
      splitDescription = .object([
        ("method", .string("shuffle")),
        ("seed", .integer(Int(settings.seed))),
        ("test_fraction", .number(settings.testFraction)),
        ("meta_fraction", .number(settings.metaFraction)),
      ])
    }
    try checkSplit(split)
    logger.info(
      "split rows",
      [
        "base_train": split.baseTrain.count, "meta_train": split.metaTrain.count,
        "test": split.test.count,
      ])
    let splitSeconds = stopwatch.seconds

    let result = Experiment.run(
      dataset: dataset, split: split, configuration: settings.models, logger: logger)

    var storeFields: [(String, JSONValue)] = []
    if let storePath = settings.storePath {
      storeFields = try writeStore(
        dataset: dataset, split: split, result: result, settings: settings, path: storePath,
        logger: logger)
    }

    let summary = Report.DatasetSummary(
      source: describe(settings.source), fingerprint: dataset.fingerprint,
      ratings: dataset.ratings.count, users: dataset.userCount, items: dataset.itemCount,
      droppedDuplicates: loaded.droppedDuplicates, ratingScale: dataset.ratingScale)
    var timings: [(String, JSONValue)] = [
      ("load", .number(rounded(loadSeconds))), ("split", .number(rounded(splitSeconds))),
    ]
    timings += result.stageSeconds.map { ($0.stage, .number(rounded($0.seconds))) }
    timings.append(("total", .number(rounded(total.seconds))))
    let report = Report(
      dataset: summary, splitDescription: splitDescription,
      parameters: parametersJSON(settings), result: result,
      extra: [("timings_seconds", .object(timings))]
        + (storeFields.isEmpty ? [] : [("store", .object(storeFields))]))

    try createDirectories(settings.reportDirectory)
    let reportPath = joinPath(settings.reportDirectory, "report.json")
    try writeFileAtomically(reportPath, Array((report.json.serialized() + "\n").utf8))
    print(report.table, terminator: "")
    logger.info("wrote report", ["path": reportPath, "seconds": formatSeconds(total.seconds)])
  }

  /// Fits the served models, scores every pair and publishes the store.
  ///
  /// - Returns: the report's `store` section.
  static func writeStore(
    dataset: Dataset, split: Split, result: ExperimentResult, settings: Settings, path: String,
    logger: Logger
  ) throws -> [(String, JSONValue)] {
    let stopwatch = Stopwatch()
    let training: TrainingSet
    let models: [any RatingModel]
    switch settings.serveFit {
    case .base:
      training = TrainingSet(dataset: dataset, rows: split.baseTrain)
      models = result.models
    case .all:
      training = TrainingSet(dataset: dataset, rows: Array(0..<dataset.ratings.count))
      logger.info("refitting the base models on all ratings", ["rows": training.ratings.count])
      models = Experiment.fitBaseModels(training, configuration: settings.models, logger: logger)
    }
    let fitSeconds = stopwatch.seconds

    let scoring = Stopwatch()
    let content = FeatureStoreBuilder.content(
      dataset: dataset, training: training, models: models,
      blend: BlendModel(result.stacker), serveFit: settings.serveFit, logger: logger)
    let scoreSeconds = scoring.seconds

    let summary = try FeatureStoreWriter.write(
      content, to: path, waitForLock: settings.waitForLock)
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

  /// Rejects a split whose training or test part is empty.
  static func checkSplit(_ split: Split) throws {
    if split.baseTrain.isEmpty {
      throw UsageError("the base-train split is empty; lower --test-fraction or --meta-fraction")
    }
    if split.metaTrain.isEmpty {
      throw UsageError("the meta-train split is empty; raise --meta-fraction or add ratings")
    }
    if split.test.isEmpty {
      throw UsageError("the test split is empty; raise --test-fraction or add ratings")
    }
  }

  static func describe(_ source: DataSource) -> String {
    switch source {
    case .directory(let directory): return directory
    case .files(let ratings, _): return ratings
    case .splitFiles(let base, let meta, let test, _): return "\(base), \(meta), \(test)"
    }
  }

  static func parametersJSON(_ settings: Settings) -> JSONValue {
    .object([
      ("seed", .integer(Int(settings.seed))),
      ("knn_neighbors", .integer(settings.models.knn.neighbors)),
      ("mf_factors", .integer(settings.models.mf.factors)),
      ("mf_epochs", .integer(settings.models.mf.epochs)),
      ("mf_learning_rate", .number(settings.models.mf.learningRate)),
      ("mf_regularization", .number(settings.models.mf.regularization)),
      ("mf_init_std", .number(settings.models.mf.initStandardDeviation)),
    ])
  }
}

/// Writes `error: message` to standard error.
public func printError(_ message: String) {
  LogSink.shared.write("error: \(message)\n")
}
