/// Where the ratings come from.
public enum DataSource: Sendable, Equatable {
  /// A MovieLens directory, in any of the layouts `MovieLensLoader`
  /// recognises.
  case directory(String)
  /// A ratings file and an optional movie file.
  case files(ratings: String, movies: String?)
  /// Three rating files used as the base-train, meta-train and test split as
  /// given, and an optional movie file.
  case splitFiles(base: String, meta: String, test: String, movies: String?)
  /// A training file and a test file, such as MovieLens 100k's `u1.base`
  /// and `u1.test`; the split leaves meta-train empty for the caller to
  /// carve from the training rows.
  case trainTest(train: String, test: String, movies: String?)
}

/// A dataset together with what loading it repaired.
public struct LoadedData: Sendable {
  public var dataset: Dataset
  /// The split given by the input files, for `.splitFiles` and `.trainTest`.
  public var predefinedSplit: Split?
  /// Rows dropped because a later row rated the same movie for the same user.
  public var droppedDuplicates: Int
  /// Empty lines skipped in the rating files.
  public var skippedEmptyLines: Int
  /// Movie titles that were not valid UTF-8 and were read as Latin-1.
  public var repairedTitles: Int
}

/// Loads MovieLens rating, movie and tag files into a `Dataset`.
///
/// A file's format follows from its name: `.csv` files have a header row
/// (ratings `userId,movieId,rating[,timestamp]`, movies
/// `movieId,title[,genres]`, tags `userId,movieId,tag,timestamp`, as in
/// ml-latest-small and the 20M, 25M and 32M releases); `.dat` files use `::`
/// separators (the 1M and 10M releases); `u.data` and the `.base` and
/// `.test` folds of MovieLens 100k are tab-separated user, item, rating,
/// timestamp; `u.item` is 100k's pipe-separated Latin-1 movie list.
public enum MovieLensLoader {
  /// The rating scale of every MovieLens release since 2003 (half stars).
  public static let defaultScale: ClosedRange<Float> = 0.5...5.0

  /// The files of one MovieLens release in a directory.
  struct DirectoryLayout: Equatable {
    var ratings: String
    var movies: String?
    var tags: String?
  }

  /// Finds the rating, movie and tag files in `directory`.
  ///
  /// - Throws: `DataError.fileNotFound` for a missing directory and
  ///   `DataError.unknownFormat` when no known ratings file is there.
  static func layout(of directory: String) throws -> DirectoryLayout {
    func existing(_ name: String) -> String? {
      let path = joinPath(directory, name)
      return fileExists(path) ? path : nil
    }
    if let ratings = existing("ratings.csv") {
      return DirectoryLayout(ratings: ratings, movies: existing("movies.csv"), tags: existing("tags.csv"))
    }
    if let ratings = existing("u.data") {
      return DirectoryLayout(ratings: ratings, movies: existing("u.item"), tags: nil)
    }
    if let ratings = existing("ratings.dat") {
      return DirectoryLayout(ratings: ratings, movies: existing("movies.dat"), tags: existing("tags.dat"))
    }
    if !directoryExists(directory) { throw DataError.fileNotFound(path: directory) }
    throw DataError.unknownFormat(
      directory: directory,
      reason: "found none of ratings.csv (ml-latest-small, 20M, 25M, 32M), u.data (100k) "
        + "or ratings.dat (1M, 10M)")
  }

  /// Loads `source`, checking every row.
  ///
  /// Duplicate (user, movie) rows keep the one with the latest timestamp
  /// (the later row on a tie) and are counted in `droppedDuplicates`. With
  /// split files, duplicates are looked for within each file.
  ///
  /// - Parameter tags: a tags file to read; a directory's own tags file is
  ///   read without it.
  /// - Throws: `DataError` for missing files and malformed content, naming
  ///   the file, the line and the value.
  public static func load(
    _ source: DataSource, scale: ClosedRange<Float> = defaultScale, tags: String? = nil
  ) throws -> LoadedData {
    var parts: [RatingRows] = []
    var moviesPath: String?
    var tagsPath = tags
    var splitKind = SplitKind.none
    var fingerprint = SHA256()

    func readRatings(_ path: String) throws {
      let bytes = try readFileBytes(path)
      parts.append(try parseRatings(bytes: bytes, path: path, scale: scale))
      fingerprint.update(bytes)
    }

    switch source {
    case .directory(let directory):
      let found = try layout(of: directory)
      try readRatings(found.ratings)
      moviesPath = found.movies
      tagsPath = tagsPath ?? found.tags
    case .files(let ratings, let movies):
      try readRatings(ratings)
      moviesPath = movies
    case .splitFiles(let base, let meta, let test, let movies):
      for path in [base, meta, test] { try readRatings(path) }
      moviesPath = movies
      splitKind = .baseMetaTest
    case .trainTest(let train, let test, let movies):
      for path in [train, test] { try readRatings(path) }
      moviesPath = movies
      splitKind = .trainTest
    }

    let movies = try moviesPath.map { try loadMovies($0) }
    if let movies { fingerprint.update(movies.bytes) }
    var tagRows: [(Int32, String)] = []
    if let tagsPath {
      let bytes = try readFileBytes(tagsPath)
      tagRows = try RatingFileParser.parseTags(bytes: bytes, path: tagsPath)
      fingerprint.update(bytes)
    }
    return build(
      parts: parts, movies: movies, tags: tagRows, scale: scale,
      fingerprint: hexString(fingerprint.finalize()), splitKind: splitKind)
  }

  /// Parses a ratings file in the format its name implies.
  static func parseRatings(bytes: [UInt8], path: String, scale: ClosedRange<Float>) throws
    -> RatingRows
  {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    if name.hasSuffix(".dat") {
      return try RatingFileParser.parseRatingColumns(
        bytes: bytes, path: path, separator: "::", scale: scale)
    }
    if name == "u.data" || name.hasSuffix(".base") || name.hasSuffix(".test") {
      return try RatingFileParser.parseRatingColumns(
        bytes: bytes, path: path, separator: "\t", scale: scale)
    }
    return try RatingFileParser.parseRatingsCSV(bytes: bytes, path: path, scale: scale)
  }

  private enum SplitKind {
    case none, baseMetaTest, trainTest
  }

  private struct LoadedMovies {
    var rows: [MovieRow]
    var repairedTitles: Int
    var bytes: [UInt8]
  }

  private static func loadMovies(_ path: String) throws -> LoadedMovies {
    let bytes = try readFileBytes(path)
    let name = path.split(separator: "/").last.map(String.init) ?? path
    if name == "u.item" {
      let genrePath = joinPath(parentDirectory(of: path), "u.genre")
      let genres = fileExists(genrePath)
        ? try RatingFileParser.parseGenreNames(bytes: readFileBytes(genrePath), path: genrePath)
        : RatingFileParser.defaultGenres100k
      let rows = try RatingFileParser.parseUItem(bytes: bytes, path: path, genreNames: genres)
      return LoadedMovies(rows: rows, repairedTitles: 0, bytes: bytes)
    }
    let parsed = name.hasSuffix(".dat")
      ? try RatingFileParser.parseMoviesDat(bytes: bytes, path: path)
      : try RatingFileParser.parseMoviesCSV(bytes: bytes, path: path)
    return LoadedMovies(rows: parsed.movies, repairedTitles: parsed.repairedTitles, bytes: bytes)
  }

  /// Indexes ids, drops duplicates within each part, and attaches titles.
  private static func build(
    parts: [RatingRows], movies: LoadedMovies?, tags: [(Int32, String)],
    scale: ClosedRange<Float>, fingerprint: String, splitKind: SplitKind
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
    var bounds: [Int] = [0]
    for range in partRanges {
      bounds.append(bounds.last! + range.filter { keep[$0] }.count)
    }
    switch splitKind {
    case .none:
      break
    case .baseMetaTest:
      split = Split(
        baseTrain: Array(bounds[0]..<bounds[1]), metaTrain: Array(bounds[1]..<bounds[2]),
        test: Array(bounds[2]..<bounds[3]))
    case .trainTest:
      split = Split(
        baseTrain: Array(bounds[0]..<bounds[1]), metaTrain: [], test: Array(bounds[1]..<bounds[2]))
    }

    var titles = [String](repeating: "", count: items.count)
    var genres = [String](repeating: "", count: items.count)
    for movie in movies?.rows ?? [] {
      let index = Int(items.index(of: movie.id)!)
      titles[index] = movie.title
      genres[index] = movie.genres
    }

    var itemTags = [[String]](repeating: [], count: items.count)
    for (movie, tag) in tags {
      guard let index = items.index(of: movie) else { continue }
      let normalised = tag.trimmingSpaces().lowercased()
      if !normalised.isEmpty && !itemTags[Int(index)].contains(normalised) {
        itemTags[Int(index)].append(normalised)
      }
    }

    var dataset = Dataset(
      users: users, items: items, ratings: ratings, titles: titles, genres: genres,
      ratingScale: scale, hasTimestamps: all.hasTimestamps, fingerprint: fingerprint)
    dataset.tags = itemTags
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
