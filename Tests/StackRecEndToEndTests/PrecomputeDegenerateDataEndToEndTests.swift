import Foundation
import StackRec
import Testing

/// Runs the built `stackrec-precompute` on degenerate data with the reference and the best
/// preset, and checks that no NaN or infinity reaches the report or the store. Every report
/// number must be finite and non-null, and every served score must lie on the rating scale.
@Suite struct PrecomputeDegenerateDataEndToEndTests {
  /// One degenerate dataset: a ratings file, or three split files, and options.
  struct DegenerateCase: Sendable, CustomStringConvertible {
    var description: String
    var ratings: String
    /// When set, `ratings` is base-train and these are meta-train and test.
    var metaAndTest: (String, String)?
    var options: [String] = []
  }

  static let header = "userId,movieId,rating,timestamp\n"

  /// Ratings of `users` x `items` pairs with `value(user, item)`.
  static func rows(_ users: ClosedRange<Int>, _ items: ClosedRange<Int>, _ value: (Int, Int) -> Double)
    -> String
  {
    var text = ""
    for user in users {
      for item in items { text += "\(user),\(item),\(value(user, item)),\(user * 100 + item)\n" }
    }
    return text
  }

  static let cases: [DegenerateCase] = {
    let varied = { (user: Int, item: Int) in Double(1 + (user * 7 + item * 3) % 10) / 2 }
    let normal = ratingsCSV(users: 30, items: 40)
    // Base and meta-train from the normal users; test adds user 777, who has no training
    // ratings, and movie 888, which no training row has.
    let training = rows(1...20, 1...12, varied)
    let meta = rows(1...20, 13...15, varied)
    let test = rows(1...5, 16...18, varied) + "777,1,4.0,1\n777,2,3.0,2\n3,888,2.5,3\n"
    return [
      DegenerateCase(description: "one user", ratings: header + rows(1...1, 1...25, varied)),
      DegenerateCase(description: "one item", ratings: header + rows(1...25, 1...1, varied)),
      DegenerateCase(
        description: "a user whose ratings are all equal",
        ratings: normal + rows(500...500, 1...40) { _, _ in 3 }),
      DegenerateCase(
        description: "an item rated once",
        ratings: normal + "1,999,5.0,1\n"),
      DegenerateCase(
        description: "test user and item absent from training", ratings: header + training,
        metaAndTest: (header + meta, header + test)),
      DegenerateCase(
        description: "all ratings identical", ratings: header + rows(1...20, 1...15) { _, _ in 3.5 }),
      DegenerateCase(
        description: "k larger than any neighbourhood", ratings: normal,
        options: ["--knn-neighbors", "100000"]),
    ]
  }()

  // MARK: - Checks

  /// Returns the paths in a parsed report whose value is null or not a finite number.
  static func nonFiniteValues(_ value: Any, path: String = "") -> [String] {
    switch value {
    case let object as [String: Any]:
      return object.keys.sorted().flatMap { nonFiniteValues(object[$0]!, path: path + "." + $0) }
    case let array as [Any]:
      return array.enumerated().flatMap { nonFiniteValues($1, path: path + "[\($0)]") }
    case is NSNull:
      return [path + " is null"]
    case let number as NSNumber where !number.doubleValue.isFinite:
      return [path + " is \(number)"]
    default:
      return []
    }
  }

  /// Runs one case with one preset and checks the report and the store.
  func check(_ degenerate: DegenerateCase, preset: String, movies: Bool) throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      let reportDirectory = directory.file("report")
      try writeFile(directory.file("ratings.csv"), degenerate.ratings)
      var source = ["--ratings", directory.file("ratings.csv")]
      if let (meta, test) = degenerate.metaAndTest {
        try writeFile(directory.file("meta.csv"), meta)
        try writeFile(directory.file("test.csv"), test)
        source = ["--split-files", directory.file("ratings.csv"), directory.file("meta.csv"),
          directory.file("test.csv")]
      }
      if movies {
        let ids = Set(degenerate.ratings.split(separator: "\n").dropFirst().compactMap {
          $0.split(separator: ",").dropFirst().first.flatMap { Int($0) }
        })
        let genres = ["Action", "Comedy|Drama", "Drama", "Horror|Sci-Fi"]
        let lines = ids.sorted().map { "\($0),Movie \($0) (1999),\(genres[$0 % genres.count])\n" }
        try writeFile(directory.file("movies.csv"), "movieId,title,genres\n" + lines.joined())
        source += ["--movies", directory.file("movies.csv")]
      }

      let child = try ChildProcess.run(
        "stackrec-precompute",
        source + ["--preset", preset, "--out", store, "--report-dir", reportDirectory, "--quiet"]
          + degenerate.options,
        logDirectory: directory.path)
      try #require(child.status == 0, "\(degenerate) with \(preset): \(child.errorOutput)")

      let data = try #require(fileBytes(reportDirectory + "/report.json"))
      let report = try JSONSerialization.jsonObject(with: Data(data))
      let problems = Self.nonFiniteValues(report)
      #expect(problems.isEmpty, "\(degenerate) with \(preset): \(problems.prefix(5))")
      #expect(!child.output.contains("nan"), "\(degenerate) with \(preset): \(child.output)")

      let snapshot = try FeatureStoreReader.load(path: store)
      var outside: [String] = []
      for user in [nil] + (0..<snapshot.userCount).map(Optional.some) {
        for item in [nil] + (0..<snapshot.itemCount).map(Optional.some) {
          let score = try snapshot.score(user: user, item: item).value
          if !(0.5...5).contains(score) { outside.append("(\(String(describing: user)), \(String(describing: item))): \(score)") }
        }
      }
      #expect(outside.isEmpty, "\(degenerate) with \(preset): \(outside.prefix(5))")
    }
  }

  // MARK: - Tests

  @Test(arguments: cases)
  func referencePresetStaysFinite(degenerate: DegenerateCase) throws {
    try check(degenerate, preset: "reference", movies: false)
  }

  @Test(arguments: cases)
  func bestPresetStaysFinite(degenerate: DegenerateCase) throws {
    try check(degenerate, preset: "best", movies: false)
  }

  @Test(arguments: cases)
  func bestPresetWithMoviesStaysFinite(degenerate: DegenerateCase) throws {
    try check(degenerate, preset: "best", movies: true)
  }

  @Test func singleRatingFailsClearly() throws {
    try ScratchDirectory.with { directory in
      try writeFile(directory.file("ratings.csv"), Self.header + "1,1,4.0,1\n")
      let child = try runPrecompute(
        ratings: directory.file("ratings.csv"), store: directory.file("store.sqlite"),
        in: directory)
      #expect(child.status == 1)
      #expect(
        child.errorOutput
          == "error: the base-train split is empty; lower --test-fraction or --meta-fraction\n")
      #expect(try directory.entries() == ["precompute.stderr", "precompute.stdout", "ratings.csv"])
    }
  }

  @Test(arguments: [false, true])
  func divergedModelWritesNothing(withStore: Bool) throws {
    try ScratchDirectory.with { directory in
      try writeFile(directory.file("ratings.csv"), ratingsCSV(users: 30, items: 40))
      let store = directory.file("store.sqlite")
      let first = try runPrecompute(
        ratings: directory.file("ratings.csv"), store: store, in: directory, label: "first")
      try #require(first.status == 0, "\(first.errorOutput)")
      let storeBefore = try #require(fileBytes(store))
      let reportBefore = try #require(fileBytes(directory.file("report-first/report.json")))

      // A step of 1 from factors of standard deviation 10 overflows within a few epochs.
      let diverging = ["--mf-learning-rate", "1", "--mf-init-std", "10", "--mf-epochs", "50"]
      let child = try ChildProcess.run(
        "stackrec-precompute",
        ["--ratings", directory.file("ratings.csv"), "--report-dir", directory.file("report-first"),
          "--quiet"] + (withStore ? ["--out", store] : ["--no-store"]) + diverging,
        logDirectory: directory.path, label: "diverged")
      #expect(child.status == 1)
      #expect(child.errorOutput.hasPrefix("error: model mf produced a non-finite "), "\(child.errorOutput)")
      #expect(child.output.isEmpty)
      #expect(fileBytes(directory.file("report-first/report.json")) == reportBefore)
      #expect(fileBytes(store) == storeBefore)
    }
  }
}
