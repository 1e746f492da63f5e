import Foundation
import StackRec
import Testing

/// End-to-end runs of the built `stackrec-precompute` and `stackrec-blend`
/// executables on files written by the test, checking exit status and output.
@Suite struct BlendEndToEndTests {
  // MARK: - Running the executables

  /// The result of one run of an executable.
  fileprivate struct RunResult {
    var status: Int32
    var output: String
    var errorOutput: String
  }

  /// Returns the path of a built executable, which SwiftPM puts in the same
  /// directory as the test bundle.
  private func executable(_ name: String) throws -> String {
    let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let path = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
      .appendingPathComponent(name).path
    try #require(
      FileManager.default.isExecutableFile(atPath: path),
      "\(path) is missing; build the package's executables first")
    return path
  }

  /// Runs `name` with `arguments`, reading standard input from `inputPath`
  /// (or nothing). Output goes through files in `directory`, so a large
  /// output cannot fill a pipe and stall the child.
  private func run(
    _ name: String, _ arguments: [String], inputPath: String? = nil,
    directory: BlendTestDirectory
  ) throws -> RunResult {
    let outputPath = directory.file("\(name).stdout")
    let errorPath = directory.file("\(name).stderr")
    for path in [outputPath, errorPath] {
      try #require(
        FileManager.default.createFile(atPath: path, contents: nil), "cannot create \(path)")
    }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: try executable(name))
    process.arguments = arguments
    process.standardInput =
      try inputPath.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) }
      ?? FileHandle.nullDevice
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let errorOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    process.standardOutput = output
    process.standardError = errorOutput
    try process.run()
    process.waitUntilExit()
    try output.close()
    try errorOutput.close()

    return RunResult(
      status: process.terminationStatus,
      output: try String(contentsOfFile: outputPath, encoding: .utf8),
      errorOutput: try String(contentsOfFile: errorPath, encoding: .utf8))
  }

  // MARK: - Generated ratings

  /// Movie ids are odd, so even ids are never in the store.
  private static let movieIDs = (0..<40).map { 2 * $0 + 1 }
  private static let userIDs = Array(1...30)

  /// Writes `ratings.csv` and `movies.csv` for 30 users and 40 movies, each
  /// user rating about 60% of the movies, and returns each user's rated
  /// movies.
  private func writeRatings(to directory: BlendTestDirectory) throws -> [Int: Set<Int>] {
    var generator = SeededGenerator(seed: 7)
    let userOffsets = Self.userIDs.map { _ in generator.nextUnit() * 2 - 1 }
    let movieOffsets = Self.movieIDs.map { _ in generator.nextUnit() * 2 - 1 }
    var ratings = "userId,movieId,rating,timestamp\n"
    var rated: [Int: Set<Int>] = [:]
    for (userPosition, user) in Self.userIDs.enumerated() {
      for (moviePosition, movie) in Self.movieIDs.enumerated() where generator.nextUnit() < 0.6 {
        let raw =
          3.5 + userOffsets[userPosition] + movieOffsets[moviePosition]
          + generator.nextUnit() - 0.5
        let rating = min(max((raw * 2).rounded() / 2, 0.5), 5)
        ratings +=
          "\(user),\(movie),\(rating),\(964_982_703 + userPosition * 1000 + moviePosition)\n"
        rated[user, default: []].insert(movie)
      }
    }
    var movies = "movieId,title,genres\n"
    for movie in Self.movieIDs {
      movies +=
        movie % 3 == 0
        ? "\(movie),\"Movie \(movie), The (1999)\",Comedy|Drama\n"
        : "\(movie),Movie \(movie) (2001),Action\n"
    }
    try ratings.write(toFile: directory.file("ratings.csv"), atomically: true, encoding: .utf8)
    try movies.write(toFile: directory.file("movies.csv"), atomically: true, encoding: .utf8)
    return rated
  }

  /// Writes the generated ratings and a store built from them.
  private func precomputeStore(in directory: BlendTestDirectory) throws -> (
    path: String, rated: [Int: Set<Int>]
  ) {
    let rated = try writeRatings(to: directory)
    let storePath = directory.file("store.sqlite")
    let result = try run(
      "stackrec-precompute",
      [
        "--data", directory.path, "--out", storePath, "--report-dir", directory.file("report"),
        "--quiet",
      ], directory: directory)
    try #require(result.status == 0, "stackrec-precompute failed: \(result.errorOutput)")
    return (storePath, rated)
  }

  // MARK: - Tests

  @Test func blendAnswersRequestFile() throws {
    try BlendTestDirectory.with { directory in
      let (storePath, rated) = try precomputeStore(in: directory)
      let requests = [
        "SCORE 1 1", "SCORE 2 3", "score 30 79", "SCORE 15 41",
        "SCORE 999 1", "SCORE 1 2", "SCORE 999 2",
        "SCORES 1 1 3 2", "RECOMMEND 1 5", "RECOMMEND 999 3", "EXPLAIN 1 1", "INFO", "PING",
        "", "   ", "FOO 1", "SCORE x 1", "RECOMMEND 1 0", "SCORE 1", "SCORE 1 2\r", "QUIT",
      ]
      let requestPath = directory.file("requests.txt")
      try (requests.joined(separator: "\n") + "\n").write(
        toFile: requestPath, atomically: true, encoding: .utf8)

      let result = try run(
        "stackrec-blend", ["--store", storePath, "--quiet"], inputPath: requestPath,
        directory: directory)
      #expect(result.status == 0, "\(result.errorOutput)")

      let answered = requests.filter { !$0.allSatisfy(\.isWhitespace) }
      var replies = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        .map(String.init)
      #expect(replies.last == "")
      replies.removeLast()
      try #require(replies.count == answered.count, "replies:\n\(result.output)")
      let reply = Dictionary(zip(answered, replies), uniquingKeysWith: { first, _ in first })

      // Known pairs get a plain score on the rating scale.
      for request in ["SCORE 1 1", "SCORE 2 3", "score 30 79", "SCORE 15 41"] {
        let fields = (reply[request] ?? "").split(separator: " ")
        #expect(fields.count == 1, "\(request): \(reply[request] ?? "")")
        let value = fields.first.flatMap { Double($0) }
        #expect(value.map { (0.5...5).contains($0) } == true, "\(request): \(reply[request] ?? "")")
      }

      // Unknown ids get a fallback score, marked as such.
      let fallbacks = [
        ("SCORE 999 1", "unknown-user"), ("SCORE 1 2", "unknown-item"),
        ("SCORE 999 2", "unknown-user-and-item"), ("SCORE 1 2\r", "unknown-item"),
      ]
      for (request, fallback) in fallbacks {
        let fields = (reply[request] ?? "").split(separator: " ")
        #expect(fields.count == 2, "\(request): \(reply[request] ?? "")")
        let value = fields.first.flatMap { Double($0) }
        #expect(value.map { (0.5...5).contains($0) } == true, "\(request)")
        #expect(fields.last == "fallback=\(fallback)"[...], "\(request)")
      }

      let scores = (reply["SCORES 1 1 3 2"] ?? "").split(separator: " ")
      #expect(scores.count == 3)
      #expect(scores.prefix(2).allSatisfy { Double($0).map { (0.5...5).contains($0) } == true })
      #expect(scores.last?.hasSuffix("/unknown-item") == true)

      // RECOMMEND lists movies in the store that user 1 has not rated,
      // best first.
      let recommended = (reply["RECOMMEND 1 5"] ?? "").split(separator: " ").map {
        $0.split(separator: ":")
      }
      #expect(recommended.count == 5, "\(reply["RECOMMEND 1 5"] ?? "")")
      let recommendedIDs = recommended.compactMap { $0.first.flatMap { Int($0) } }
      let recommendedScores = recommended.compactMap { $0.last.flatMap { Double($0) } }
      #expect(recommendedIDs.count == 5)
      #expect(recommendedIDs.allSatisfy { Self.movieIDs.contains($0) })
      #expect(recommendedIDs.allSatisfy { !(rated[1] ?? []).contains($0) })
      #expect(recommendedScores == recommendedScores.sorted(by: >))
      #expect(reply["RECOMMEND 999 3"]?.hasSuffix(" fallback=unknown-user") == true)

      #expect(reply["EXPLAIN 1 1"]?.hasPrefix("score=") == true)
      #expect(reply["EXPLAIN 1 1"]?.hasSuffix(" fallback=none") == true)
      #expect(reply["INFO"]?.hasPrefix("format_version=1 ") == true)
      #expect(reply["PING"] == "PONG")
      #expect(reply["QUIT"] == "OK bye")
      for request in ["FOO 1", "SCORE x 1", "RECOMMEND 1 0", "SCORE 1"] {
        #expect(reply[request]?.hasPrefix("ERR ") == true, "\(request): \(reply[request] ?? "")")
      }
    }
  }

  @Test func helpExitsZero() throws {
    try BlendTestDirectory.with { directory in
      let result = try run("stackrec-blend", ["--help"], directory: directory)
      #expect(result.status == 0)
      #expect(result.output.contains("--store"))
      #expect(result.errorOutput.isEmpty)
    }
  }

  @Test func missingStoreExitsOne() throws {
    try BlendTestDirectory.with { directory in
      let path = directory.file("absent.sqlite")
      let result = try run("stackrec-blend", ["--store", path], directory: directory)
      #expect(result.status == 1)
      #expect(result.errorOutput.contains("error: \(path)"), "\(result.errorOutput)")
      #expect(result.errorOutput.contains("not found"), "\(result.errorOutput)")
      // The advice names stackrec-precompute, not options stackrec-blend lacks.
      #expect(result.errorOutput.contains("stackrec-precompute"), "\(result.errorOutput)")
      #expect(!result.errorOutput.contains("--data"), "\(result.errorOutput)")
      #expect(result.output.isEmpty)
    }
  }

  @Test func garbageStoreExitsOne() throws {
    try BlendTestDirectory.with { directory in
      let path = directory.file("garbage.sqlite")
      var generator = SeededGenerator(seed: 3)
      let bytes = (0..<8192).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let result = try run("stackrec-blend", ["--store", path], directory: directory)
      #expect(result.status == 1)
      #expect(result.errorOutput.contains("error: \(path)"), "\(result.errorOutput)")
      #expect(result.errorOutput.contains("not a stackrec feature store"), "\(result.errorOutput)")
      #expect(result.output.isEmpty)
    }
  }

  // MARK: - Reference split

  /// The MovieLens directory that `STACKREC_DATA_DIR` names, if set.
  private static let dataDirectory = ProcessInfo.processInfo.environment["STACKREC_DATA_DIR"]

  @Test(.enabled(if: dataDirectory != nil, "STACKREC_DATA_DIR is not set"))
  func servedScoresMatchReportRMSE() throws {
    // The reference split lives beside the data directory, in
    // reference/seed-split-42.
    let splitDirectory = URL(fileURLWithPath: try #require(Self.dataDirectory))
      .deletingLastPathComponent().appendingPathComponent("reference/seed-split-42").path
    let splitFiles = ["base_train.csv", "meta_train.csv", "test.csv"].map {
      splitDirectory + "/" + $0
    }
    for file in splitFiles {
      try #require(FileManager.default.fileExists(atPath: file), "\(file) is missing")
    }

    try BlendTestDirectory.with { directory in
      let storePath = directory.file("store.sqlite")
      let reportDirectory = directory.file("report")
      let precompute = try run(
        "stackrec-precompute",
        ["--split-files"] + splitFiles + [
          "--serve-fit", "base", "--out", storePath, "--report-dir", reportDirectory, "--quiet",
        ], directory: directory)
      try #require(precompute.status == 0, "stackrec-precompute failed: \(precompute.errorOutput)")

      // One SCORE request per test rating.
      let testRows = try String(contentsOfFile: splitFiles[2], encoding: .utf8)
        .split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
      var requests = ""
      var ratings: [Double] = []
      for row in testRows {
        requests += "SCORE \(row[0]) \(row[1])\n"
        ratings.append(try #require(Double(row[2])))
      }
      let requestPath = directory.file("requests.txt")
      try requests.write(toFile: requestPath, atomically: true, encoding: .utf8)

      let blend = try run(
        "stackrec-blend", ["--store", storePath, "--quiet"], inputPath: requestPath,
        directory: directory)
      try #require(blend.status == 0, "stackrec-blend failed: \(blend.errorOutput)")
      let replies = blend.output.split(separator: "\n")
      try #require(replies.count == ratings.count)

      var squaredError = 0.0
      for (reply, rating) in zip(replies, ratings) {
        let score = try #require(reply.split(separator: " ").first.flatMap { Double($0) })
        squaredError += (score - rating) * (score - rating)
      }
      let rmse = (squaredError / Double(ratings.count)).squareRoot()

      let report = try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: reportDirectory + "/report.json")))
      let clipped = (report as? [String: Any])?["test_rmse_clipped"] as? [String: Any]
      let reported = try #require(clipped?["stacked"] as? Double)
      #expect(abs(rmse - reported) <= 0.0005, "served RMSE \(rmse), report \(reported)")
    }
  }
}

// MARK: - Support

/// A scratch directory for one test under the system's temporary directory.
private struct BlendTestDirectory {
  let path: String

  /// Runs `body` with a fresh, empty directory, then removes the directory
  /// and everything in it.
  static func with<T>(_ body: (BlendTestDirectory) throws -> T) throws -> T {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/stackrec-blend-test-XXXXXX".utf8CString)
    let created = try #require(mkdtemp(&template), "mkdtemp failed under \(base)")
    let directory = BlendTestDirectory(path: String(cString: created))
    defer { try? FileManager.default.removeItem(atPath: directory.path) }
    return try body(directory)
  }

  func file(_ name: String) -> String {
    path + "/" + name
  }
}
