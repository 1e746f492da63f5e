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
      help: "MovieLens directory: ratings.csv with movies.csv and tags.csv, u.data with u.item, "
        + "or ratings.dat with movies.dat (default: data/ml-latest-small, downloaded when "
        + "missing)."),
    OptionSpec(
      "--ratings", ["FILE"],
      help: "Ratings file to read instead of --data: CSV, or by its name a .dat (::), u.data, "
        + ".base or .test (tab-separated) file."),
    OptionSpec("--movies", ["FILE"], help: "Movies file with titles and genres (optional)."),
    OptionSpec(
      "--split-files", ["BASE", "META", "TEST"],
      help: "Use three rating files (CSV userId,movieId,rating[,timestamp], or the layouts "
        + "--ratings reads) as the base-train, meta-train and test split, as given."),
    OptionSpec(
      "--data-url", ["URL"],
      help: "Where to download the dataset archive when the data directory is missing "
        + "(http, https or file URL; default: the official ml-latest-small.zip)."),
    OptionSpec(
      "--data-sha256", ["HEX"],
      help: "SHA-256 that the archive from --data-url must have (64 hex digits); the "
        + "official archive's is built in."),
    OptionSpec("--tags", ["FILE"], help: "Tags CSV file for the content model (optional)."),
    OptionSpec(
      "--folds-dir", ["DIR"],
      help: "Evaluate over predefined folds instead: DIR/u1.base and DIR/u1.test to u5, as in "
        + "MovieLens 100k, with DIR/u.item for movies; writes no store."),
    OptionSpec("--seed", ["N"], help: "Seed of the split and of the models' randomness (default 42)."),
    OptionSpec(
      "--preset", ["reference|best"],
      help: "reference (default): bias, item kNN and MF, hold-out stacking with least squares. "
        + "best: the stronger models, 5-fold out-of-fold stacking, feature-weighted stacking."),
    OptionSpec(
      "--models", ["LIST"],
      help: "Comma-separated base models, overriding the preset's: "
        + Preset.modelKeys.joined(separator: ", ") + "."),
    OptionSpec(
      "--stacking", ["holdout|oof"],
      help: "How the meta-learner's training predictions are made: on meta-train by models fit "
        + "on base-train (holdout), or out of fold over base-train plus meta-train (oof)."),
    OptionSpec("--folds", ["K"], help: "Folds of out-of-fold stacking and of --tune (default 5)."),
    OptionSpec(
      "--ranking-k", ["K"],
      help: "K of the precision, recall and NDCG in the report (default 10; 0 skips them)."),
    OptionSpec(
      "--tune",
      help: "Instead of the experiment, cross-validate a grid of hyperparameters for each model "
        + "on the training rows only (test rows are not read) and write tuning.json."),
    OptionSpec(
      "--meta-learner", ["NAME"],
      help: "The blend to serve: stacked (least squares), ridge, nnls (non-negative weights) "
        + "or fwls (feature-weighted). Every one is evaluated and reported."),
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
      "--report-dir", ["DIR"],
      help: "Directory for report.json, report.html and the charts (default: artifacts)."),
    OptionSpec(
      "--out", ["PATH"],
      help: "Feature store to write (default: artifacts/feature-store.sqlite)."),
    OptionSpec(
      "--serve-fit", ["all|base"],
      help: "Serve models refitted on all ratings (all, the default) or exactly as evaluated "
        + "on base-train (base)."),
    OptionSpec(
      "--candidates", ["N"],
      help: "Store scores only for each user's N best unrated items by blended score (for "
        + "large datasets); other pairs are answered from the models' low-rank estimates."),
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
    /// Lowercase hex digest that the downloaded archive must have.
    public var dataSHA256: String?
    public var seed: UInt64 = 42
    public var testFraction = 0.2
    public var metaFraction = 0.2
    public var models = ModelConfiguration()
    public var tagsPath: String?
    public var foldsDirectory: String?
    public var preset = Preset.reference
    public var modelKeys: [String]?
    public var stacking: Stacking?
    public var folds = 5
    public var metaLearner: MetaLearner?
    public var tune = false
    public var rankingK = 10
    public var candidates: Int?
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
    // Past a file size limit (ulimit -f), a write then fails with EFBIG, which the writers
    // report and clean up after, instead of SIGXFSZ ending the process mid-write.
    signal(SIGXFSZ, SIG_IGN)
    let watcher = watchSignals(logger: logger)
    defer { watcher?.cancel() }
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
    if let digest = options.string("--data-sha256") {
      guard settings.dataURL != nil else { throw UsageError("--data-sha256 needs --data-url") }
      guard let valid = try? DatasetFetcher.expectedHash(for: "", explicitHash: digest) else {
        throw UsageError(
          "invalid value '\(digest)' for --data-sha256: expected 64 hexadecimal digits")
      }
      settings.dataSHA256 = valid
    }
    settings.tagsPath = options.string("--tags")
    if let directory = options.string("--folds-dir") {
      if !sources.isEmpty {
        throw UsageError("--folds-dir cannot be combined with \(sources[0]); pick one source")
      }
      settings.foldsDirectory = directory
      settings.isDefaultSource = false
    }
    if let name = try options.choice("--preset", from: Preset.allCases.map(\.rawValue)) {
      settings.preset = Preset(rawValue: name)!
    }
    if let list = options.string("--models") {
      let keys = list.split(separator: ",").map { String($0).trimmingSpaces() }
      for key in keys where !Preset.modelKeys.contains(key) {
        throw UsageError(
          "invalid model '\(key)' for --models: expected one or more of "
            + Preset.modelKeys.joined(separator: ", "))
      }
      guard !keys.isEmpty, Set(keys).count == keys.count else {
        throw UsageError("invalid value '\(list)' for --models: list each model once")
      }
      settings.modelKeys = keys
    }
    if let value = try options.integer("--folds", in: 2...100) { settings.folds = value }
    if let name = try options.choice("--stacking", from: ["holdout", "oof"]) {
      settings.stacking = name == "oof" ? .outOfFold(folds: settings.folds) : .holdout
    } else if options.has("--folds") {
      settings.stacking = .outOfFold(folds: settings.folds)
    }
    settings.tune = options.has("--tune")
    if let value = try options.integer("--ranking-k", in: 0...1000) { settings.rankingK = value }
    if settings.tune && settings.foldsDirectory != nil {
      throw UsageError("--tune cannot be combined with --folds-dir; tune on one training file")
    }
    if let name = try options.choice("--meta-learner", from: MetaLearner.all.map(\.key)) {
      settings.metaLearner = MetaLearner(key: name)
    }

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
    if options.has("--no-store") || settings.foldsDirectory != nil || settings.tune {
      if options.has("--out") {
        throw UsageError(
          "--out cannot be combined with --no-store, --folds-dir or --tune, which write no store")
      }
      settings.storePath = nil
    }
    settings.waitForLock = options.has("--wait-lock")
    settings.candidates = try options.integer("--candidates", in: 1...1_000_000)
    settings.quiet = options.has("--quiet")
    return settings
  }

  /// The experiment the settings ask for: the preset, with any model list,
  /// stacking or meta-learner given on the command line.
  public static func plan(_ settings: Settings) -> ExperimentPlan {
    var plan = settings.preset.plan(reference: settings.models, seed: settings.seed)
    if let keys = settings.modelKeys {
      plan.models = keys.map { Preset.spec(for: $0, reference: settings.models, seed: settings.seed)! }
    }
    if let stacking = settings.stacking { plan.stacking = stacking }
    if case .outOfFold = plan.stacking { plan.stacking = .outOfFold(folds: settings.folds) }
    if let learner = settings.metaLearner { plan.metaLearner = learner }
    plan.rankingK = settings.rankingK
    return plan
  }
}

/// Writes `error: message` to standard error.
public func printError(_ message: String) {
  LogSink.shared.write("error: \(message)\n")
}
