import Foundation
import StackRec
import Testing

/// Runs the built `stackrec-precompute` executable on fixture files and on
/// the reference split, and checks its exit status, output and report.
@Suite struct PrecomputeEndToEndTests {
  /// What one run of the executable produced.
  struct Run {
    var status: Int32
    var standardOutput: String
    var standardError: String
  }

  /// The executable, which SwiftPM builds into the same directory as the
  /// test binary (such as `.build/release/`).
  static let executablePath: String = {
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    let directory = URL(fileURLWithPath: testBinary ?? "").deletingLastPathComponent().path
    return directory + "/stackrec-precompute"
  }()

  /// Runs the executable with `arguments` in `directory`. Its output goes to
  /// files in `directory`, so a full pipe can never block it.
  static func run(_ arguments: [String], in directory: String) throws -> Run {
    try #require(
      FileManager.default.isExecutableFile(atPath: executablePath),
      "\(executablePath) not found; build the package first")
    let outputPath = directory + "/stdout.txt"
    let errorPath = directory + "/stderr.txt"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let error = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    defer {
      try? output.close()
      try? error.close()
    }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executablePath)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.standardOutput = output
    process.standardError = error
    try process.run()
    process.waitUntilExit()

    return Run(
      status: process.terminationStatus,
      standardOutput: try String(contentsOfFile: outputPath, encoding: .utf8),
      standardError: try String(contentsOfFile: errorPath, encoding: .utf8))
  }

  /// Runs `body` with a fresh temporary directory, removed afterwards.
  static func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("stackrec-e2e-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
  }

  /// Reads `report.json` from `directory` with Foundation's parser.
  static func readReport(in directory: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  /// Every base model and ensemble of the reference configuration: the
  /// three models, their average, the four meta-learners, and `best`, the
  /// served one.
  static let modelKeys: Set<String> = [
    "bias", "item_knn", "mf", "average", "stacked", "ridge", "nnls", "fwls", "best",
  ]
  /// The table lists every key but `best`, which repeats the served blend.
  static let tableKeys = modelKeys.subtracting(["best"])

  // MARK: - Fixture split

  /// One rating row of a fixture file, with MovieLens ids.
  struct Row {
    var user: Int
    var movie: Int
    var rating: Double
  }

  /// Random half-star ratings by 30 users of 20 movies, dealt into
  /// base-train, meta-train and test parts of about 60, 20 and 20 percent.
  static let fixtureParts: [[Row]] = {
    var generator = SeededGenerator(seed: 8)
    var parts: [[Row]] = [[], [], []]
    for user in 0..<30 {
      for movie in 0..<20 where generator.nextUnit() < 0.6 {
        let row = Row(
          user: 100 + user, movie: 1_000 + 7 * movie,
          rating: Double(1 + generator.nextInt(below: 10)) / 2)
        let part = [0, 0, 0, 1, 2][generator.nextInt(below: 5)]
        parts[part].append(row)
      }
    }
    return parts
  }()

  /// Writes the fixture parts as CSV files and returns their paths.
  static func writeFixtureParts(in directory: String) throws -> [String] {
    try zip(["base.csv", "meta.csv", "test.csv"], fixtureParts).map { name, rows in
      var text = "userId,movieId,rating,timestamp\n"
      for (position, row) in rows.enumerated() {
        text += "\(row.user),\(row.movie),\(row.rating),\(1_000_000 + position)\n"
      }
      let path = directory + "/" + name
      try text.write(toFile: path, atomically: false, encoding: .utf8)
      return path
    }
  }

  /// Test RMSE of the bias model fitted on the base part with plain loops.
  static func naiveBiasRMSE() -> Double {
    let base = fixtureParts[0]
    let mu = base.reduce(0) { $0 + $1.rating } / Double(base.count)
    let users = Dictionary(grouping: base, by: \.user).mapValues {
      $0.reduce(0) { $0 + $1.rating } / Double($0.count) - mu
    }
    let movies = Dictionary(grouping: base, by: \.movie).mapValues {
      $0.reduce(0) { $0 + $1.rating } / Double($0.count) - mu
    }
    let test = fixtureParts[2]
    let squaredError = test.reduce(0.0) { sum, row in
      let prediction = mu + (users[row.user] ?? 0) + (movies[row.movie] ?? 0)
      return sum + (prediction - row.rating) * (prediction - row.rating)
    }
    return (squaredError / Double(test.count)).squareRoot()
  }

  @Test func fixtureSplitWritesReportAndTable() throws {
    try Self.withTemporaryDirectory { directory in
      let files = try Self.writeFixtureParts(in: directory)
      let reportDirectory = directory + "/report"
      let run = try Self.run(
        ["--split-files"] + files + ["--report-dir", reportDirectory, "--quiet"], in: directory)

      #expect(run.status == 0, "\(run.standardError)")
      #expect(run.standardError == "")
      let lines = run.standardOutput.split(separator: "\n").map(String.init)
      #expect(
        lines.first
          == "model         test RMSE   clipped RMSE   test MAE   clipped MAE   P@10     R@10     NDCG@10"
      )
      let tableKeys = lines.dropFirst().prefix(8).compactMap { $0.split(separator: " ").first }
      #expect(Set(tableKeys.map(String.init)) == Self.tableKeys)
      #expect(lines.last?.hasPrefix("served blend (stacked): intercept ") == true)
      let written = try FileManager.default.contentsOfDirectory(atPath: reportDirectory).sorted()
      #expect(written.filter { !$0.hasSuffix(".svg") } == ["report.html", "report.json"])
      #expect(written.filter { $0.hasSuffix(".svg") }.count == 6)

      let report = try Self.readReport(in: reportDirectory)
      let rmse = try #require(report["test_rmse"] as? [String: Double])
      let clipped = try #require(report["test_rmse_clipped"] as? [String: Double])
      #expect(Set(rmse.keys) == Self.modelKeys)
      #expect(Set(clipped.keys) == Self.modelKeys)
      let bias = try #require(rmse["bias"])
      #expect(abs(bias - Self.naiveBiasRMSE()) < 1e-8, "bias \(bias)")

      let meta = try #require(report["meta_model"] as? [String: Any])
      let intercept = try #require(meta["intercept"] as? Double)
      let weights = try #require(meta["weights"] as? [String: Double])
      #expect(intercept.isFinite)
      #expect(Set(weights.keys) == ["bias", "item_knn", "mf"])

      let split = try #require(report["split"] as? [String: Any])
      #expect(split["base_train"] as? Int == Self.fixtureParts[0].count)
      #expect(split["meta_train"] as? Int == Self.fixtureParts[1].count)
      #expect(split["test"] as? Int == Self.fixtureParts[2].count)
    }
  }

  @Test func tableMatchesReport() throws {
    try Self.withTemporaryDirectory { directory in
      let files = try Self.writeFixtureParts(in: directory)
      let run = try Self.run(
        ["--split-files"] + files + ["--report-dir", directory + "/report", "--quiet"],
        in: directory)
      try #require(run.status == 0, "\(run.standardError)")

      let report = try Self.readReport(in: directory + "/report")
      let rmse = try #require(report["test_rmse"] as? [String: Double])
      for line in run.standardOutput.split(separator: "\n").dropFirst().prefix(5) {
        let fields = line.split(separator: " ").map(String.init)
        let printed = try #require(Double(fields[1]), "\(line)")
        let reported = try #require(rmse[fields[0]], "\(line)")
        // The table prints six decimals.
        #expect(abs(printed - reported) <= 5e-7, "\(line)")
      }
    }
  }

  // MARK: - Reference split

  @Test(
    .enabled(
      if: ProcessInfo.processInfo.environment["STACKREC_DATA_DIR"] != nil,
      "STACKREC_DATA_DIR is not set"))
  func referenceSplitReportsSizesAndRMSE() throws {
    let data = try #require(ProcessInfo.processInfo.environment["STACKREC_DATA_DIR"])
    let splitDirectory = data + "/../reference/seed-split-42"
    try Self.withTemporaryDirectory { directory in
      let run = try Self.run(
        [
          "--split-files", splitDirectory + "/base_train.csv", splitDirectory + "/meta_train.csv",
          splitDirectory + "/test.csv", "--report-dir", directory + "/report", "--quiet",
        ], in: directory)
      #expect(run.status == 0, "\(run.standardError)")
      #expect(run.standardError == "")
      #expect(run.standardOutput.hasPrefix("model         test RMSE   clipped RMSE"))
      #expect(run.standardOutput.contains("\nserved blend (stacked): intercept "))

      let report = try Self.readReport(in: directory + "/report")
      let split = try #require(report["split"] as? [String: Any])
      #expect(split["base_train"] as? Int == 64_534)
      #expect(split["meta_train"] as? Int == 16_134)
      #expect(split["test"] as? Int == 20_168)
      let rmse = try #require(report["test_rmse"] as? [String: Double])
      let clipped = try #require(report["test_rmse_clipped"] as? [String: Double])
      #expect(Set(rmse.keys) == Self.modelKeys)
      #expect(Set(clipped.keys) == Self.modelKeys)
      let meta = try #require(report["meta_model"] as? [String: Any])
      let weights = try #require(meta["weights"] as? [String: Double])
      #expect(meta["intercept"] is Double)
      #expect(Set(weights.keys) == ["bias", "item_knn", "mf"])
      // The bias model of an independent Python implementation (pandas and
      // scikit-learn) scores 0.926878 on this split.
      let bias = try #require(rmse["bias"])
      #expect(abs(bias - 0.926878) <= 0.0001, "bias \(bias)")
    }
  }

  // MARK: - Help and errors

  @Test func helpListsOptionsAndExitsZero() throws {
    try Self.withTemporaryDirectory { directory in
      let run = try Self.run(["--help"], in: directory)
      #expect(run.status == 0)
      #expect(run.standardOutput.contains("USAGE: stackrec-precompute [options]"))
      for spec in PrecomputeCommand.specs {
        #expect(run.standardOutput.contains("  \(spec.name)"), "\(spec.name)")
      }
      #expect(run.standardOutput.contains("--split-files BASE META TEST"))
      #expect(run.standardError == "")
    }
  }

  @Test(arguments: [
    (["--bogus"], "--bogus"), (["--seed", "x"], "'x'"),
    (["--data", "a", "--ratings", "b"], "cannot be combined"), (["--mf-epochs"], "--mf-epochs"),
  ])
  func usageErrorExitsSixtyFour(arguments: [String], message: String) throws {
    try Self.withTemporaryDirectory { directory in
      let run = try Self.run(arguments, in: directory)
      #expect(run.status == 64)
      #expect(run.standardError.hasPrefix("error: "))
      #expect(run.standardError.contains(message))
      #expect(run.standardError.contains("--help"))
      #expect(run.standardOutput == "")
    }
  }

  @Test func missingRatingsFileExitsOne() throws {
    try Self.withTemporaryDirectory { directory in
      let missing = directory + "/no-such-ratings.csv"
      let reportDirectory = directory + "/report"
      let run = try Self.run(
        ["--ratings", missing, "--report-dir", reportDirectory, "--quiet"], in: directory)
      #expect(run.status == 1)
      #expect(run.standardError.hasPrefix("error: "))
      #expect(run.standardError.contains(missing))
      #expect(run.standardOutput == "")
      #expect(!FileManager.default.fileExists(atPath: reportDirectory + "/report.json"))
    }
  }

  @Test func storePathThatIsDirectoryFailsFirst() throws {
    try Self.withTemporaryDirectory { directory in
      let parts = try Self.writeFixtureParts(in: directory)
      let reportDirectory = directory + "/report"
      let run = try Self.run(
        ["--split-files"] + parts + ["--out", directory, "--report-dir", reportDirectory],
        in: directory)
      #expect(run.status == 1)
      #expect(run.standardError.contains("\(directory): cannot write the file: it is a directory"))
      // The check comes before any data is read.
      #expect(!run.standardError.contains("loaded ratings"), "\(run.standardError)")
      #expect(!FileManager.default.fileExists(atPath: reportDirectory + "/report.json"))
    }
  }

  @Test func malformedRatingsExitOneNamingLine() throws {
    try Self.withTemporaryDirectory { directory in
      let ratings = directory + "/ratings.csv"
      try "userId,movieId,rating\n1,2,4\n1,3,7.5\n".write(
        toFile: ratings, atomically: false, encoding: .utf8)
      let reportDirectory = directory + "/report"
      let run = try Self.run(
        ["--ratings", ratings, "--report-dir", reportDirectory, "--quiet"], in: directory)
      #expect(run.status == 1)
      #expect(run.standardError.contains("\(ratings): line 3:"))
      #expect(run.standardError.contains("'7.5'"))
      #expect(!FileManager.default.fileExists(atPath: reportDirectory + "/report.json"))
    }
  }
}
