/// Where the ratings come from.
public enum DataSource: Sendable, Equatable {
  /// A MovieLens directory holding `ratings.csv` and optionally `movies.csv`.
  case directory(String)
  /// A ratings file and an optional movie file.
  case files(ratings: String, movies: String?)
  /// Three rating files used as the base-train, meta-train and test split as
  /// given, and an optional movie file.
  case splitFiles(base: String, meta: String, test: String, movies: String?)
}

/// A dataset together with what loading it repaired.
public struct LoadedData: Sendable {
  public var dataset: Dataset
  /// The split given by the input files, for `DataSource.splitFiles`.
  public var predefinedSplit: Split?
  /// Rows dropped because a later row rated the same movie for the same user.
  public var droppedDuplicates: Int
  /// Empty lines skipped in the rating files.
  public var skippedEmptyLines: Int
  /// Movie titles that were not valid UTF-8 and were read as Latin-1.
  public var repairedTitles: Int
}

/// Loads MovieLens rating and movie files into a `Dataset`.
public enum MovieLensLoader {
  /// The rating scale of every MovieLens release since 2003 (half stars).
  public static let defaultScale: ClosedRange<Float> = 0.5...5.0

  /// Loads `source`, checking every row.
  ///
  /// Duplicate (user, movie) rows keep the one with the latest timestamp
  /// (the later row on a tie) and are counted in `droppedDuplicates`. With
  /// split files, duplicates are looked for within each file.
  ///
  /// - Throws: `DataError` for missing files and malformed content, naming
  ///   the file, the line and the value.
  public static func load(
    _ source: DataSource, scale: ClosedRange<Float> = defaultScale
  ) throws -> LoadedData {
    switch source {
    case .directory(let directory):
      let ratingsPath = joinPath(directory, "ratings.csv")
      guard fileExists(ratingsPath) else {
        if !directoryExists(directory) { throw DataError.fileNotFound(path: directory) }
        throw DataError.unknownFormat(
          directory: directory, reason: "ratings.csv is missing")
      }
      let moviesPath = joinPath(directory, "movies.csv")
      return try load(
        .files(ratings: ratingsPath, movies: fileExists(moviesPath) ? moviesPath : nil),
        scale: scale)

    case .files(let ratingsPath, let moviesPath):
      let ratingBytes = try readFileBytes(ratingsPath)
      let rows = try RatingFileParser.parseRatingsCSV(
        bytes: ratingBytes, path: ratingsPath, scale: scale)
      let movies = try moviesPath.map { try loadMovies($0) }
      var fingerprint = SHA256()
      fingerprint.update(ratingBytes)
      if let movies { fingerprint.update(movies.bytes) }
      return build(
        parts: [rows], movies: movies, scale: scale,
        fingerprint: hexString(fingerprint.finalize()), isSplit: false)

    case .splitFiles(let basePath, let metaPath, let testPath, let moviesPath):
      var parts: [RatingRows] = []
      var fingerprint = SHA256()
      for path in [basePath, metaPath, testPath] {
        let bytes = try readFileBytes(path)
        parts.append(try RatingFileParser.parseRatingsCSV(bytes: bytes, path: path, scale: scale))
        fingerprint.update(bytes)
      }
      let movies = try moviesPath.map { try loadMovies($0) }
      if let movies { fingerprint.update(movies.bytes) }
      return build(
        parts: parts, movies: movies, scale: scale,
        fingerprint: hexString(fingerprint.finalize()), isSplit: true)
    }
  }

  private struct LoadedMovies {
    var rows: [MovieRow]
    var repairedTitles: Int
    var bytes: [UInt8]
  }

  private static func loadMovies(_ path: String) throws -> LoadedMovies {
    let bytes = try readFileBytes(path)
    let parsed = try RatingFileParser.parseMoviesCSV(bytes: bytes, path: path)
    return LoadedMovies(rows: parsed.movies, repairedTitles: parsed.repairedTitles, bytes: bytes)
  }

  /// Indexes ids, drops duplicates within each part, and attaches titles.
  private static func build(
    parts: [RatingRows], movies: LoadedMovies?, scale: ClosedRange<Float>,
    fingerprint: String, isSplit: Bool
  ) -> LoadedData {
    var all = RatingRows()
    for part in parts { all.append(contentsOf: part) }
    let users = IDIndex(ids: all.userIDs)
    let items = IDIndex(ids: all.itemIDs + (movies?.rows.map(\.id) ?? []))

    var ratings = Ratings()
    ratings.reserveCapacity(all.count)
    for row in 0..<all.count {
      ratings.append(
        user: users.index(of: all.userIDs[row])!, item: items.index(of: all.itemIDs[row])!,
        value: all.values[row], timestamp: all.timestamps[row])
    }

    // Mark duplicates part by part, then keep the surviving rows in order.
    var keep = [Bool](repeating: true, count: ratings.count)
    var partRanges: [Range<Int>] = []
    var start = 0
    for part in parts {
      partRanges.append(start..<start + part.count)
      start += part.count
    }
    var dropped = 0
    for range in partRanges {
      dropped += markDuplicates(ratings, in: range, userCount: users.count, keep: &keep)
    }
    var split: Split?
    if dropped > 0 {
      let kept = (0..<ratings.count).filter { keep[$0] }
      ratings = ratings.subset(kept)
    }
    if isSplit {
      var bounds: [Int] = [0]
      for range in partRanges {
        bounds.append(bounds.last! + range.filter { keep[$0] }.count)
      }
      split = Split(
        baseTrain: Array(bounds[0]..<bounds[1]), metaTrain: Array(bounds[1]..<bounds[2]),
        test: Array(bounds[2]..<bounds[3]))
    }

    var titles = [String](repeating: "", count: items.count)
    var genres = [String](repeating: "", count: items.count)
    for movie in movies?.rows ?? [] {
      let index = Int(items.index(of: movie.id)!)
      titles[index] = movie.title
      genres[index] = movie.genres
    }

    let dataset = Dataset(
      users: users, items: items, ratings: ratings, titles: titles, genres: genres,
      ratingScale: scale, hasTimestamps: all.hasTimestamps, fingerprint: fingerprint)
    return LoadedData(
      dataset: dataset, predefinedSplit: split, droppedDuplicates: dropped,
      skippedEmptyLines: all.skippedEmptyLines, repairedTitles: movies?.repairedTitles ?? 0)
  }

  /// Clears `keep` for every row in `range` that another row supersedes:
  /// same user and item, and a later timestamp (or equal timestamp and a
  /// later row).
  ///
  /// - Returns: the number of rows cleared.
  static func markDuplicates(
    _ ratings: Ratings, in range: Range<Int>, userCount: Int, keep: inout [Bool]
  ) -> Int {
    // Group the rows by user with a counting sort, then sort each user's
    // rows by item, timestamp and position, so duplicates sit side by side.
    var offsets = [Int](repeating: 0, count: userCount + 1)
    for row in range { offsets[Int(ratings.users[row]) + 1] += 1 }
    for user in 0..<userCount { offsets[user + 1] += offsets[user] }
    var cursor = offsets
    var grouped = [Int](repeating: 0, count: range.count)
    for row in range {
      let user = Int(ratings.users[row])
      grouped[cursor[user]] = row
      cursor[user] += 1
    }

    var dropped = 0
    for user in 0..<userCount {
      let slice = offsets[user]..<offsets[user + 1]
      guard slice.count > 1 else { continue }
      var rows = Array(grouped[slice])
      rows.sort { a, b in
        let (itemA, itemB) = (ratings.items[a], ratings.items[b])
        if itemA != itemB { return itemA < itemB }
        let (timeA, timeB) = (ratings.timestamps[a], ratings.timestamps[b])
        if timeA != timeB { return timeA < timeB }
        return a < b
      }
      for position in 0..<rows.count - 1
      where ratings.items[rows[position]] == ratings.items[rows[position + 1]] {
        keep[rows[position]] = false
        dropped += 1
      }
    }
    return dropped
  }
}

/// Joins two path components with exactly one slash between them.
func joinPath(_ directory: String, _ name: String) -> String {
  if directory.isEmpty { return name }
  return directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
