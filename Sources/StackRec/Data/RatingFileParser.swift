/// Rating rows as read from a file, still keyed by external ids.
struct RatingRows {
  var userIDs: [Int32] = []
  var itemIDs: [Int32] = []
  var values: [Float] = []
  var timestamps: [Int64] = []
  var hasTimestamps = true
  /// Empty lines that were skipped.
  var skippedEmptyLines = 0

  var count: Int { userIDs.count }

  mutating func append(contentsOf other: RatingRows) {
    userIDs += other.userIDs
    itemIDs += other.itemIDs
    values += other.values
    timestamps += other.timestamps
    hasTimestamps = hasTimestamps && other.hasTimestamps
    skippedEmptyLines += other.skippedEmptyLines
  }
}

/// A movie row as read from a file.
struct MovieRow {
  var id: Int32
  var title: String
  var genres: String
}

/// Parsers for the MovieLens CSV files (`ratings.csv`, `movies.csv`).
enum RatingFileParser {
  /// Parses a ratings CSV file with a header naming `userId`, `movieId`,
  /// `rating` and optionally `timestamp`, in any order, among other columns.
  ///
  /// - Throws: `DataError` naming the file, the line and the value for an
  ///   empty file, a missing column, a wrong field count, an invalid number,
  ///   an id outside `0...Int32.max`, or a rating outside `scale`.
  static func parseRatingsCSV(
    bytes: [UInt8], path: String, scale: ClosedRange<Float>
  ) throws -> RatingRows {
    try bytes.withUnsafeBufferPointer { buffer in
      var scanner = RecordScanner(bytes: buffer, path: path, separator: ",")
      guard try scanner.next() else { throw DataError.emptyFile(path: path) }
      let header = HeaderColumns(scanner: scanner)
      let userColumn = try header.require("userId", path: path)
      let itemColumn = try header.require(["movieId", "itemId"], path: path)
      let ratingColumn = try header.require("rating", path: path)
      let timestampColumn = header.find("timestamp")
      let fieldCount = scanner.fields.count

      var rows = RatingRows()
      rows.hasTimestamps = timestampColumn != nil
      rows.userIDs.reserveCapacity(bytes.count / 24)
      rows.itemIDs.reserveCapacity(bytes.count / 24)
      rows.values.reserveCapacity(bytes.count / 24)
      rows.timestamps.reserveCapacity(bytes.count / 24)
      while try scanner.next() {
        guard scanner.fields.count == fieldCount else {
          throw DataError.wrongFieldCount(
            path: path, line: scanner.line, expected: fieldCount, found: scanner.fields.count)
        }
        rows.userIDs.append(try parseID(scanner, userColumn, "userId"))
        rows.itemIDs.append(try parseID(scanner, itemColumn, header.names[itemColumn]))
        rows.values.append(try parseRating(scanner, ratingColumn, scale: scale))
        if let timestampColumn {
          rows.timestamps.append(try parseTimestamp(scanner, timestampColumn))
        } else {
          rows.timestamps.append(0)
        }
      }
      rows.skippedEmptyLines = scanner.skippedEmptyLines
      guard rows.count > 0 else { throw DataError.noRatings(path: path) }
      return rows
    }
  }

  /// Parses a movies CSV file with a header naming `movieId` and `title`,
  /// and optionally `genres`.
  ///
  /// Titles that are not valid UTF-8 are read as Latin-1, and
  /// `repairedTitles` counts them.
  static func parseMoviesCSV(
    bytes: [UInt8], path: String
  ) throws -> (movies: [MovieRow], repairedTitles: Int) {
    try bytes.withUnsafeBufferPointer { buffer in
      var scanner = RecordScanner(bytes: buffer, path: path, separator: ",")
      guard try scanner.next() else { throw DataError.emptyFile(path: path) }
      let header = HeaderColumns(scanner: scanner)
      let idColumn = try header.require(["movieId", "itemId"], path: path)
      let titleColumn = try header.require("title", path: path)
      let genresColumn = header.find("genres")
      let fieldCount = scanner.fields.count

      var movies: [MovieRow] = []
      var repairedTitles = 0
      while try scanner.next() {
        guard scanner.fields.count == fieldCount else {
          throw DataError.wrongFieldCount(
            path: path, line: scanner.line, expected: fieldCount, found: scanner.fields.count)
        }
        let id = try parseID(scanner, idColumn, header.names[idColumn])
        let (title, repaired) = decodeText(scanner.unescapedBytes(titleColumn))
        if repaired { repairedTitles += 1 }
        let genres = genresColumn.map { decodeText(scanner.unescapedBytes($0)).text } ?? ""
        movies.append(MovieRow(id: id, title: title, genres: genres))
      }
      return (movies, repairedTitles)
    }
  }

  // MARK: - Fields

  static func parseID(_ scanner: RecordScanner, _ column: Int, _ name: String) throws -> Int32 {
    switch NumberParsing.integer(scanner.rawBytes(column)) {
    case .value(let value) where value >= 0 && value <= Int64(Int32.max):
      return Int32(value)
    case .value, .overflow:
      throw DataError.idOutOfRange(
        path: scanner.path, line: scanner.line, column: name, value: scanner.text(column))
    case .invalid:
      throw DataError.invalidNumber(
        path: scanner.path, line: scanner.line, column: name, value: scanner.text(column))
    }
  }

  static func parseRating(
    _ scanner: RecordScanner, _ column: Int, scale: ClosedRange<Float>
  ) throws -> Float {
    guard let value = NumberParsing.double(scanner.rawBytes(column)) else {
      throw DataError.invalidNumber(
        path: scanner.path, line: scanner.line, column: "rating", value: scanner.text(column))
    }
    guard value.isFinite, value >= Double(scale.lowerBound), value <= Double(scale.upperBound)
    else {
      throw DataError.ratingOutOfRange(
        path: scanner.path, line: scanner.line, value: scanner.text(column), scale: scale)
    }
    return Float(value)
  }

  static func parseTimestamp(_ scanner: RecordScanner, _ column: Int) throws -> Int64 {
    guard case .value(let value) = NumberParsing.integer(scanner.rawBytes(column)) else {
      throw DataError.invalidNumber(
        path: scanner.path, line: scanner.line, column: "timestamp", value: scanner.text(column))
    }
    return value
  }

  /// Decodes UTF-8, falling back to Latin-1 for bytes that are not UTF-8.
  static func decodeText(_ bytes: [UInt8]) -> (text: String, repaired: Bool) {
    if let text = String(validating: bytes, as: UTF8.self) {
      return (text, false)
    }
    var text = ""
    text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return (text, true)
  }
}

/// The column names of a header line, for finding columns by name.
struct HeaderColumns {
  let names: [String]
  let line: String

  init(scanner: RecordScanner) {
    names = (0..<scanner.fields.count).map {
      scanner.text($0).trimmingSpaces()
    }
    line = names.joined(separator: ",")
  }

  /// The position of the first column whose name matches, ignoring case.
  func find(_ candidates: [String]) -> Int? {
    for candidate in candidates {
      let lowered = candidate.lowercased()
      if let position = names.firstIndex(where: { $0.lowercased() == lowered }) {
        return position
      }
    }
    return nil
  }

  func find(_ name: String) -> Int? { find([name]) }

  func require(_ candidates: [String], path: String) throws -> Int {
    guard let position = find(candidates) else {
      throw DataError.missingColumn(path: path, column: candidates[0], header: line)
    }
    let lowered = names[position].lowercased()
    if names.filter({ $0.lowercased() == lowered }).count > 1 {
      throw DataError.duplicateColumn(path: path, column: names[position])
    }
    return position
  }

  func require(_ name: String, path: String) throws -> Int {
    try require([name], path: path)
  }
}

extension String {
  func trimmingSpaces() -> String {
    var scalars = Substring(self)
    while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
    while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
    return String(scalars)
  }
}

// MARK: - Other MovieLens layouts

extension RatingFileParser {
  /// Parses a ratings file without a header whose columns are user, movie,
  /// rating and timestamp, separated by `separator`: MovieLens 100k's
  /// `u.data` and its `u1.base`... folds (tab), and the 1M and 10M
  /// `ratings.dat` (`::`).
  static func parseRatingColumns(
    bytes: [UInt8], path: String, separator: String, scale: ClosedRange<Float>
  ) throws -> RatingRows {
    try bytes.withUnsafeBufferPointer { buffer in
      var scanner = RecordScanner(bytes: buffer, path: path, separator: separator)
      var rows = RatingRows()
      rows.userIDs.reserveCapacity(bytes.count / 16)
      rows.itemIDs.reserveCapacity(bytes.count / 16)
      rows.values.reserveCapacity(bytes.count / 16)
      rows.timestamps.reserveCapacity(bytes.count / 16)
      var sawRecord = false
      while try scanner.next() {
        sawRecord = true
        guard scanner.fields.count == 4 else {
          throw DataError.wrongFieldCount(
            path: path, line: scanner.line, expected: 4, found: scanner.fields.count)
        }
        rows.userIDs.append(try parseID(scanner, 0, "user id"))
        rows.itemIDs.append(try parseID(scanner, 1, "item id"))
        rows.values.append(try parseRating(scanner, 2, scale: scale))
        rows.timestamps.append(try parseTimestamp(scanner, 3))
      }
      rows.skippedEmptyLines = scanner.skippedEmptyLines
      guard sawRecord else { throw DataError.emptyFile(path: path) }
      return rows
    }
  }

  /// The 19 genres of MovieLens 100k, in the order of `u.item`'s flag
  /// columns, for when `u.genre` is absent.
  static let defaultGenres100k = [
    "unknown", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
  ]

  /// Parses MovieLens 100k's `u.item`: pipe-separated, Latin-1, with the
  /// movie id, title, release dates, IMDb URL and one 0/1 flag per genre.
  static func parseUItem(bytes: [UInt8], path: String, genreNames: [String]) throws -> [MovieRow] {
    try bytes.withUnsafeBufferPointer { buffer in
      var scanner = RecordScanner(bytes: buffer, path: path, separator: "|")
      var movies: [MovieRow] = []
      while try scanner.next() {
        guard scanner.fields.count >= 5 else {
          throw DataError.wrongFieldCount(
            path: path, line: scanner.line, expected: 5 + genreNames.count,
            found: scanner.fields.count)
        }
        let id = try parseID(scanner, 0, "movie id")
        let title = latin1(scanner.unescapedBytes(1))
        var genres: [String] = []
        for (offset, name) in genreNames.enumerated() where 5 + offset < scanner.fields.count {
          if scanner.text(5 + offset) == "1" { genres.append(name) }
        }
        movies.append(MovieRow(id: id, title: title, genres: genres.joined(separator: "|")))
      }
      return movies
    }
  }

  /// Parses `u.genre`: `name|index` lines.
  static func parseGenreNames(bytes: [UInt8], path: String) throws -> [String] {
    try bytes.withUnsafeBufferPointer { buffer in
      var scanner = RecordScanner(bytes: buffer, path: path, separator: "|")
      var names: [(Int, String)] = []
      while try scanner.next() {
        guard scanner.fields.count == 2 else { continue }
        guard case .value(let index) = NumberParsing.integer(scanner.rawBytes(1)) else {
          throw DataError.invalidNumber(
            path: path, line: scanner.line, column: "genre index", value: scanner.text(1))
        }
        names.append((Int(index), scanner.text(0)))
      }
      return names.sorted { $0.0 < $1.0 }.map(\.1)
    }
  }

  /// Parses the 1M and 10M `movies.dat`: `MovieID::Title::Genres`, UTF-8 or
  /// Latin-1.
  static func parseMoviesDat(bytes: [UInt8], path: String) throws -> (movies: [MovieRow], repairedTitles: Int) {
    try bytes.withUnsafeBufferPointer { buffer in
      var scanner = RecordScanner(bytes: buffer, path: path, separator: "::")
      var movies: [MovieRow] = []
      var repaired = 0
      while try scanner.next() {
        guard scanner.fields.count == 3 else {
          throw DataError.wrongFieldCount(
            path: path, line: scanner.line, expected: 3, found: scanner.fields.count)
        }
        let (title, wasRepaired) = decodeText(scanner.unescapedBytes(1))
        if wasRepaired { repaired += 1 }
        movies.append(
          MovieRow(id: try parseID(scanner, 0, "movie id"), title: title, genres: scanner.text(2)))
      }
      return (movies, repaired)
    }
  }

  /// Parses a tags file, `tags.csv` (with a header naming `movieId` and
  /// `tag`) or the 10M `tags.dat` (`UserID::MovieID::Tag::Timestamp`), into
  /// (movie id, tag) pairs.
  static func parseTags(bytes: [UInt8], path: String) throws -> [(Int32, String)] {
    try bytes.withUnsafeBufferPointer { buffer in
      let isDat = path.hasSuffix(".dat")
      var scanner = RecordScanner(bytes: buffer, path: path, separator: isDat ? "::" : ",")
      var movieColumn = 1
      var tagColumn = 2
      var fieldCount = 4
      if !isDat {
        guard try scanner.next() else { throw DataError.emptyFile(path: path) }
        let header = HeaderColumns(scanner: scanner)
        movieColumn = try header.require(["movieId", "itemId"], path: path)
        tagColumn = try header.require("tag", path: path)
        fieldCount = scanner.fields.count
      }
      var tags: [(Int32, String)] = []
      while try scanner.next() {
        guard scanner.fields.count == fieldCount else {
          throw DataError.wrongFieldCount(
            path: path, line: scanner.line, expected: fieldCount, found: scanner.fields.count)
        }
        let movie = try parseID(scanner, movieColumn, "movieId")
        tags.append((movie, decodeText(scanner.unescapedBytes(tagColumn)).text))
      }
      return tags
    }
  }

  static func latin1(_ bytes: [UInt8]) -> String {
    var text = ""
    text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return text
  }
}
