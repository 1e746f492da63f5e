import Foundation
import StackRec
import Testing

/// Runs the built `stackrec-precompute` on a corpus of malformed ratings and movies files.
///
/// Some defects have a documented repair: a byte order mark, CRLF, empty lines, duplicate
/// pairs and Latin-1 titles. Such a file must give a store whose scores equal those of the
/// clean file, with the repair counted on standard error. Any other defect must stop the run
/// with status 1 and an error naming the file, the line and the value. The store published
/// before from clean data then stays byte for byte the same, and so does its report.
@Suite struct PrecomputeMalformedInputEndToEndTests {
  static let header = "userId,movieId,rating,timestamp"

  /// The clean ratings, one string per row, without the header.
  static let cleanRows: [String] = ratingsCSV(users: 30, items: 40, seed: 21)
    .split(separator: "\n").dropFirst().map(String.init)

  static var cleanText: String { ([header] + cleanRows).joined(separator: "\n") + "\n" }

  /// Returns the clean file with `row` inserted so that it is line `line` of the file.
  static func inserting(_ row: String, atLine line: Int) -> String {
    var rows = cleanRows
    rows.insert(row, at: line - 2)
    return ([header] + rows).joined(separator: "\n") + "\n"
  }

  /// Returns a movies file for ids 1 to 40, with `title(id)` as each title's bytes.
  static func movies(_ title: (Int) -> [UInt8] = { Array("Movie \($0) (1999)".utf8) }) -> [UInt8] {
    var bytes = Array("movieId,title,genres\n".utf8)
    for id in 1...40 { bytes += Array("\(id),".utf8) + title(id) + Array(",Drama\n".utf8) }
    return bytes
  }

  // MARK: - Cases

  /// What a case must do.
  enum Outcome: Sendable {
    /// Exit 1 with an error naming `file`, and `line` and `value` when given.
    case rejected(file: String, line: Int?, value: String?)
    /// Exit 0 with the clean file's scores and `warning` (if any) on standard error;
    /// `title` is movie 7's stored title when given.
    case repaired(warning: String?, title: String?)
  }

  struct MalformedCase: Sendable, CustomStringConvertible {
    var description: String
    /// The ratings file's bytes, or nil to pass a directory in its place.
    var ratings: [UInt8]?
    var movies: [UInt8]? = nil
    /// Write the ratings as MovieLens 100k's `u.data` and the movies as `u.item`, and pass
    /// the directory with `--data`.
    var layout100k = false
    var outcome: Outcome
  }

  static func rejected(
    _ description: String, _ ratings: String, line: Int?, value: String?, file: String = "ratings.csv"
  ) -> MalformedCase {
    MalformedCase(
      description: description, ratings: Array(ratings.utf8),
      outcome: .rejected(file: file, line: line, value: value))
  }

  static let cases: [MalformedCase] = {
    let clean = cleanText
    var cases: [MalformedCase] = [
      rejected("empty file", "", line: nil, value: nil),
      rejected("header only", header + "\n", line: nil, value: nil),
      rejected("missing rating column", "userId,movieId,timestamp\n1,2,3\n", line: 1, value: "rating"),
      rejected("repeated column", "userId,movieId,rating,Rating\n1,2,3,4\n", line: 1, value: "rating"),
      rejected("extra field in a row", inserting("1,2,4.0,5,6", atLine: 50), line: 50, value: nil),
      rejected("too few fields in a row", inserting("1,2", atLine: 50), line: 50, value: nil),
      rejected("NaN rating", inserting("1,2,NaN,5", atLine: 50), line: 50, value: "NaN"),
      rejected("infinite rating", inserting("1,2,inf,5", atLine: 50), line: 50, value: "inf"),
      rejected("negative infinite rating", inserting("1,2,-inf,5", atLine: 50), line: 50, value: "-inf"),
      rejected("rating overflowing a double", inserting("1,2,1e400,5", atLine: 50), line: 50, value: "1e400"),
      rejected("negative rating", inserting("1,2,-1,5", atLine: 50), line: 50, value: "-1"),
      rejected("zero rating", inserting("1,2,0,5", atLine: 50), line: 50, value: "0"),
      rejected("rating over the scale", inserting("1,2,5.5,5", atLine: 50), line: 50, value: "5.5"),
      rejected("text rating", inserting("1,2,good,5", atLine: 50), line: 50, value: "good"),
      rejected("user id over Int32", inserting("2147483648,2,4,5", atLine: 50), line: 50, value: "2147483648"),
      rejected(
        "movie id over Int64", inserting("1,99999999999999999999,4,5", atLine: 50), line: 50,
        value: "99999999999999999999"),
      rejected("negative id", inserting("-5,2,4,5", atLine: 50), line: 50, value: "-5"),
      rejected("fractional id", inserting("1.5,2,4,5", atLine: 50), line: 50, value: "1.5"),
      rejected("text timestamp", inserting("1,2,4,noon", atLine: 50), line: 50, value: "noon"),
      rejected("unterminated quote", inserting("1,\"2,4,5", atLine: 50), line: 50, value: nil),
      rejected("text after a closing quote", inserting("1,\"2\"x,4,5", atLine: 50), line: 50, value: nil),
      // Without LF the whole file is one header line, so there is no row to name.
      rejected(
        "CR-only line endings", clean.replacingOccurrences(of: "\n", with: "\r"), line: nil,
        value: nil),
      rejected(
        "truncated last line", clean + "7,3", line: cleanRows.count + 2, value: nil),
      rejected(
        "truncated last field", clean + "7,3,", line: cleanRows.count + 2, value: nil),
      MalformedCase(
        description: "NUL line in the middle",
        ratings: Array(inserting("\u{0}", atLine: 50).utf8),
        outcome: .rejected(file: "ratings.csv", line: 50, value: nil)),
      MalformedCase(
        description: "invalid UTF-8 in a rating",
        ratings: Array(inserting("1,2,4X,5", atLine: 50).utf8).replacingFirst(
          Array("1,2,4X,5".utf8), with: Array("1,2,4".utf8) + [0xFF] + Array(",5".utf8)),
        outcome: .rejected(file: "ratings.csv", line: 50, value: "4\u{FFFD}")),
      MalformedCase(
        description: "ratings path is a directory", ratings: nil,
        outcome: .rejected(file: "ratings.csv", line: nil, value: nil)),
      MalformedCase(
        description: "movies without a title column", ratings: Array(clean.utf8),
        movies: Array("movieId,name\n1,A\n".utf8),
        outcome: .rejected(file: "movies.csv", line: 1, value: "title")),
      MalformedCase(
        description: "movies with an invalid id", ratings: Array(clean.utf8),
        movies: movies() + Array("abc,Bad (1999),Drama\n".utf8),
        outcome: .rejected(file: "movies.csv", line: 42, value: "abc")),
      MalformedCase(
        description: "movies with an extra field", ratings: Array(clean.utf8),
        movies: movies() + Array("41,Extra (1999),Drama,more\n".utf8),
        outcome: .rejected(file: "movies.csv", line: 42, value: nil)),
      MalformedCase(
        description: "empty movies file", ratings: Array(clean.utf8), movies: [],
        outcome: .rejected(file: "movies.csv", line: nil, value: nil)),
    ]

    // Files that are read as documented, with the same scores as the clean file.
    let reordered = ["rating,timestamp,movieId,userId"] + cleanRows.map { row in
      let fields = row.split(separator: ",")
      return "\(fields[2]),\(fields[3]),\(fields[1]),\(fields[0])"
    }
    let extraColumns = ["userId,movieId,comment,rating,timestamp"] + cleanRows.enumerated().map {
      let fields = $1.split(separator: ",")
      return "\(fields[0]),\(fields[1]),\"seen \($0), \"\"twice\"\"\",\(fields[2]),\(fields[3])"
    }
    let quoted = [header] + cleanRows.map { row in
      row.split(separator: ",").map { "\"\($0)\"" }.joined(separator: ",")
    }
    // Duplicates with earlier timestamps, so the clean rows are the ones kept.
    let duplicates = cleanRows.prefix(3).map { row in
      let fields = row.split(separator: ",")
      return "\(fields[0]),\(fields[1]),0.5,1"
    }
    func repaired(_ description: String, _ text: String, warning: String? = nil) -> MalformedCase {
      MalformedCase(
        description: description, ratings: Array(text.utf8),
        outcome: .repaired(warning: warning, title: nil))
    }
    cases += [
      MalformedCase(
        description: "byte order mark", ratings: [0xEF, 0xBB, 0xBF] + Array(clean.utf8),
        outcome: .repaired(warning: nil, title: nil)),
      repaired("CRLF line endings", clean.replacingOccurrences(of: "\n", with: "\r\n")),
      repaired("no newline at the end", String(clean.dropLast())),
      repaired("reordered columns", reordered.joined(separator: "\n") + "\n"),
      repaired("extra quoted column with commas and doubled quotes", extraColumns.joined(separator: "\n") + "\n"),
      repaired("quoted fields", quoted.joined(separator: "\n") + "\n"),
      repaired(
        "empty lines in the middle", inserting("", atLine: 20).replacingOccurrences(of: "\n\n", with: "\n\n\r\n"),
        warning: "skipped empty lines lines=2"),
      repaired(
        "duplicate pairs", ([header] + duplicates + cleanRows).joined(separator: "\n") + "\n",
        warning: "dropped duplicate ratings, keeping the latest of each user and movie dropped=3"),
      MalformedCase(
        description: "Latin-1 title in movies.csv", ratings: Array(clean.utf8),
        movies: movies { $0 == 7 ? Array("Am".utf8) + [0xE9] + Array("lie (2001)".utf8) : Array("Movie \($0) (1999)".utf8) },
        outcome: .repaired(warning: "read titles that were not UTF-8 as Latin-1 titles=1", title: "Amélie (2001)")),
      MalformedCase(
        description: "quoted title with commas and doubled quotes", ratings: Array(clean.utf8),
        movies: movies { $0 == 7 ? Array("\"Movie, The \"\"Best\"\" (1999)\"".utf8) : Array("Movie \($0) (1999)".utf8) },
        outcome: .repaired(warning: nil, title: "Movie, The \"Best\" (1999)")),
      MalformedCase(
        description: "MovieLens 100k layout with a Latin-1 u.item", ratings: Array(clean.utf8),
        movies: [], layout100k: true,
        outcome: .repaired(warning: nil, title: "Amélie (2001)")),
    ]
    return cases
  }()

  // MARK: - Clean store

  /// Publishes a store and report from the clean files once; each case starts from copies.
  static let cleanRun: Result<(store: [UInt8], report: [UInt8]), any Error> = Result {
    try ScratchDirectory.with { directory in
      try writeFile(directory.file("ratings.csv"), cleanText)
      try writeFile(directory.file("movies.csv"), movies())
      let child = try ChildProcess.run(
        "stackrec-precompute",
        ["--ratings", directory.file("ratings.csv"), "--movies", directory.file("movies.csv"),
          "--out", directory.file("store.sqlite"), "--report-dir", directory.path, "--quiet"],
        logDirectory: directory.path)
      try #require(child.status == 0, "clean precompute failed: \(child.errorOutput)")
      return (
        try #require(fileBytes(directory.file("store.sqlite"))),
        try #require(fileBytes(directory.file("report.json")))
      )
    }
  }

  /// Returns every blended score of a snapshot, by user and movie id.
  static func scores(_ snapshot: StoreSnapshot) throws -> [String: Float] {
    var scores: [String: Float] = [:]
    for (user, userID) in snapshot.users.ids.enumerated() {
      for (item, itemID) in snapshot.items.ids.enumerated() {
        scores["\(userID),\(itemID)"] = try snapshot.score(user: user, item: item).value
      }
    }
    return scores
  }

  // MARK: - Test

  @Test(arguments: cases)
  func malformedFileIsRepairedOrRejected(malformed: MalformedCase) throws {
    let clean = try Self.cleanRun.get()
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try writeFile(store, clean.store)
      try writeFile(directory.file("report.json"), clean.report)

      var source: [String]
      if malformed.layout100k {
        // u.data is tab-separated without a header; u.item is pipe-separated Latin-1.
        try FileManager.default.createDirectory(atPath: directory.file("ml-100k"), withIntermediateDirectories: false)
        try writeFile(
          directory.file("ml-100k/u.data"),
          Self.cleanRows.map { $0.replacingOccurrences(of: ",", with: "\t") }.joined(separator: "\n") + "\n")
        var item: [UInt8] = []
        for id in 1...40 {
          let title = id == 7 ? Array("Am".utf8) + [0xE9] + Array("lie (2001)".utf8) : Array("Movie \(id) (1999)".utf8)
          item += Array("\(id)|".utf8) + title + Array("|01-Jan-1999||http://example.org/|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n".utf8)
        }
        try writeFile(directory.file("ml-100k/u.item"), item)
        source = ["--data", directory.file("ml-100k")]
      } else {
        let ratings = directory.file("ratings.csv")
        if let bytes = malformed.ratings {
          try writeFile(ratings, bytes)
        } else {
          try FileManager.default.createDirectory(atPath: ratings, withIntermediateDirectories: false)
        }
        source = ["--ratings", ratings]
        if let movies = malformed.movies {
          try writeFile(directory.file("movies.csv"), movies)
          source += ["--movies", directory.file("movies.csv")]
        }
      }

      let child = try ChildProcess.run(
        "stackrec-precompute",
        source + ["--out", store, "--report-dir", directory.path, "--quiet"],
        logDirectory: directory.path)
      let entries = try directory.entries().filter { $0.hasPrefix("store.sqlite") }
      #expect(entries == ["store.sqlite", "store.sqlite.lock"] || entries == ["store.sqlite"])

      switch malformed.outcome {
      case .rejected(let file, let line, let value):
        #expect(child.status == 1)
        let message = child.errorOutput
        #expect(message.hasPrefix("error: \(directory.file(file))"), "\(message)")
        if let line { #expect(message.contains(": line \(line):"), "\(message)") }
        if let value { #expect(message.contains("'\(value)'"), "\(message)") }
        #expect(message.split(separator: "\n").count == 1, "\(message)")
        #expect(child.output.isEmpty)
        #expect(fileBytes(store) == clean.store)
        #expect(fileBytes(directory.file("report.json")) == clean.report)

      case .repaired(let warning, let title):
        try #require(child.status == 0, "\(child.errorOutput)")
        if let warning {
          #expect(child.errorOutput.contains(" warning precompute: \(warning)"), "\(child.errorOutput)")
        } else {
          #expect(child.errorOutput.isEmpty)
        }
        let snapshot = try FeatureStoreReader.load(path: store)
        let cleanSnapshot = try ScratchDirectory.with { scratch in
          try writeFile(scratch.file("clean.sqlite"), clean.store)
          return try FeatureStoreReader.load(path: scratch.file("clean.sqlite"))
        }
        #expect(try Self.scores(snapshot) == Self.scores(cleanSnapshot))
        if let title {
          let index = try #require(snapshot.items.index(of: 7))
          #expect(snapshot.titles[Int(index)] == title)
        }
      }
    }
  }
}

extension Array where Element == UInt8 {
  /// Returns the array with the first occurrence of `target` replaced by `replacement`.
  func replacingFirst(_ target: [UInt8], with replacement: [UInt8]) -> [UInt8] {
    guard target.count <= count else { return self }
    for start in 0...(count - target.count) where Array(self[start..<start + target.count]) == target {
      return Array(self[..<start]) + replacement + Array(self[(start + target.count)...])
    }
    return self
  }
}
