import Testing

@testable import StackRec

@Suite struct PrecomputeCommandTests {
  /// Returns the message of the `UsageError` that parsing `arguments` throws.
  static func usageError(_ arguments: [String]) throws -> String {
    try #require(throws: UsageError.self) { try PrecomputeCommand.parse(arguments) }.message
  }

  @Test func defaultsMatchDocumentation() throws {
    let settings = try PrecomputeCommand.parse([])
    #expect(settings.source == .directory("data/ml-latest-small"))
    #expect(settings.isDefaultSource)
    #expect(settings.dataURL == nil)
    #expect(settings.seed == 42)
    #expect(settings.testFraction == 0.2)
    #expect(settings.metaFraction == 0.2)
    #expect(settings.models.knn.neighbors == 40)
    #expect(settings.models.mf.factors == 30)
    #expect(settings.models.mf.epochs == 12)
    #expect(settings.models.mf.learningRate == 0.01)
    #expect(settings.models.mf.regularization == 0.05)
    #expect(settings.models.mf.initStandardDeviation == 0.1)
    #expect(settings.models.mf.seed == 42)
    #expect(settings.reportDirectory == "artifacts")
    #expect(!settings.quiet)
    #expect(!settings.showHelp)
  }

  @Test func everyOptionSetsItsSetting() throws {
    let settings = try PrecomputeCommand.parse([
      "--data", "/d/ml", "--data-url", "file:///tmp/ml.zip", "--seed", "7",
      "--test-fraction", "0.3", "--meta-fraction", "0.25", "--knn-neighbors", "15",
      "--mf-factors", "8", "--mf-epochs", "3", "--mf-learning-rate", "0.02",
      "--mf-regularization", "0.1", "--mf-init-std", "0.05", "--report-dir", "out/r",
      "--quiet",
    ])
    #expect(settings.source == .directory("/d/ml"))
    #expect(!settings.isDefaultSource)
    #expect(settings.dataURL == "file:///tmp/ml.zip")
    #expect(settings.seed == 7)
    #expect(settings.testFraction == 0.3)
    #expect(settings.metaFraction == 0.25)
    #expect(settings.models.knn.neighbors == 15)
    #expect(settings.models.mf.factors == 8)
    #expect(settings.models.mf.epochs == 3)
    #expect(settings.models.mf.learningRate == 0.02)
    #expect(settings.models.mf.regularization == 0.1)
    #expect(settings.models.mf.initStandardDeviation == 0.05)
    #expect(settings.reportDirectory == "out/r")
    #expect(settings.quiet)
    #expect(!settings.showHelp)
  }

  @Test func dataSHA256IsCheckedAndLowercased() throws {
    let digest = String(repeating: "aB", count: 32)
    let settings = try PrecomputeCommand.parse([
      "--data", "d/ml", "--data-url", "file:///tmp/ml.zip", "--data-sha256", digest,
    ])
    #expect(settings.dataSHA256 == digest.lowercased())
    #expect(try PrecomputeCommand.parse([]).dataSHA256 == nil)
    #expect(
      try Self.usageError(["--data-url", "file:///x.zip", "--data-sha256", "abc"])
        == "invalid value 'abc' for --data-sha256: expected 64 hexadecimal digits")
    #expect(
      try Self.usageError(["--data-sha256", digest]) == "--data-sha256 needs --data-url")
  }

  @Test func seedAlsoSeedsMatrixFactorization() throws {
    let settings = try PrecomputeCommand.parse(["--seed", "1234"])
    #expect(settings.models.mf.seed == 1234)
  }

  @Test func ratingsOptionReadsFiles() throws {
    let settings = try PrecomputeCommand.parse(["--ratings", "r.csv", "--movies", "m.csv"])
    #expect(settings.source == .files(ratings: "r.csv", movies: "m.csv"))
    #expect(!settings.isDefaultSource)
    let withoutMovies = try PrecomputeCommand.parse(["--ratings=r.csv"])
    #expect(withoutMovies.source == .files(ratings: "r.csv", movies: nil))
  }

  @Test func splitFilesOptionTakesThreeFiles() throws {
    let settings = try PrecomputeCommand.parse([
      "--split-files", "b.csv", "m.csv", "t.csv", "--movies", "movies.csv",
    ])
    #expect(
      settings.source
        == .splitFiles(base: "b.csv", meta: "m.csv", test: "t.csv", movies: "movies.csv"))
    #expect(!settings.isDefaultSource)
  }

  @Test func helpSetsShowHelp() throws {
    #expect(try PrecomputeCommand.parse(["--help"]).showHelp)
    #expect(try PrecomputeCommand.parse(["--seed", "3", "-h"]).showHelp)
  }

  @Test(arguments: [
    ("--seed", "-1"), ("--seed", "x"), ("--seed", "4.5"), ("--test-fraction", "0.95"),
    ("--test-fraction", "-0.1"), ("--test-fraction", "nan"), ("--meta-fraction", "1"),
    ("--meta-fraction", "half"), ("--knn-neighbors", "0"), ("--knn-neighbors", "many"),
    ("--mf-factors", "0"), ("--mf-factors", "2000"), ("--mf-epochs", "-1"),
    ("--mf-learning-rate", "2"), ("--mf-learning-rate", "inf"),
    ("--mf-regularization", "-0.1"), ("--mf-init-std", "11"), ("--mf-init-std", "nan"),
  ])
  func badValueNamesOptionAndValue(option: String, value: String) throws {
    let message = try Self.usageError([option, value])
    #expect(message.contains(option))
    #expect(message.contains("'\(value)'"))
  }

  @Test(arguments: [
    ["--data", "d", "--ratings", "r.csv"],
    ["--data", "d", "--split-files", "b", "m", "t"],
    ["--ratings", "r.csv", "--split-files", "b", "m", "t"],
  ])
  func conflictingSourcesAreRejected(arguments: [String]) throws {
    let message = try Self.usageError(arguments)
    let given = arguments.filter { $0.hasPrefix("--") }
    for option in given {
      #expect(message.contains(option), "\(option)")
    }
  }

  @Test func moviesWithDataIsRejected() throws {
    let message = try Self.usageError(["--data", "d", "--movies", "m.csv"])
    #expect(message.contains("--movies"))
    #expect(message.contains("--data"))
  }

  @Test func moviesAloneIsRejected() throws {
    #expect(try Self.usageError(["--movies", "m.csv"]).contains("--movies"))
  }

  @Test func unknownOptionIsRejected() throws {
    #expect(try Self.usageError(["--neighbours", "5"]).contains("'--neighbours'"))
  }

  @Test func emptySplitPartIsRejected() throws {
    #expect(throws: UsageError.self) {
      try PrecomputeCommand.checkSplit(Split(baseTrain: [], metaTrain: [1], test: [2]))
    }
    #expect(throws: UsageError.self) {
      try PrecomputeCommand.checkSplit(Split(baseTrain: [0], metaTrain: [], test: [2]))
    }
    #expect(throws: UsageError.self) {
      try PrecomputeCommand.checkSplit(Split(baseTrain: [0], metaTrain: [1], test: []))
    }
    #expect(throws: Never.self) {
      try PrecomputeCommand.checkSplit(Split(baseTrain: [0], metaTrain: [1], test: [2]))
    }
  }

  @Test func helpListsEveryOption() {
    let text = helpText(
      program: "stackrec-precompute", overview: PrecomputeCommand.overview, usage: "[options]",
      specs: PrecomputeCommand.specs)
    for spec in PrecomputeCommand.specs {
      #expect(text.contains(spec.name), "\(spec.name)")
    }
  }
}
