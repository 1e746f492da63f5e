import Testing

@testable import StackRec

@Suite struct MovieLensLoaderTests {
  static let header = "userId,movieId,rating,timestamp\n"

  static func loadRatings(_ text: String) throws -> LoadedData {
    try withTemporaryDirectory { directory in
      let path = try writeFixture(text, named: "ratings.csv", in: directory)
      return try MovieLensLoader.load(.files(ratings: path, movies: nil))
    }
  }

  // MARK: - Bad input

  /// A ratings file that must be rejected, and the error it must produce
  /// for a given path. `line` and `value` must appear in the description.
  struct BadInput: Sendable, CustomStringConvertible {
    var description: String
    var text: String
    var line: Int?
    var value: String?
    var error: @Sendable (String) -> DataError
  }

  static let badInputs: [BadInput] = [
    BadInput(
      description: "empty file", text: "", line: nil, value: nil,
      error: { .emptyFile(path: $0) }),
    BadInput(
      description: "only empty lines", text: "\n\r\n\n", line: nil, value: nil,
      error: { .emptyFile(path: $0) }),
    BadInput(
      description: "header only", text: header, line: nil, value: nil,
      error: { .noRatings(path: $0) }),
    BadInput(
      description: "missing movieId column", text: "userId,rating\n1,4\n", line: 1,
      value: "movieId",
      error: { .missingColumn(path: $0, column: "movieId", header: "userId,rating") }),
    BadInput(
      description: "missing rating column", text: "userId,movieId,score\n1,2,4\n", line: 1,
      value: "rating",
      error: { .missingColumn(path: $0, column: "rating", header: "userId,movieId,score") }),
    BadInput(
      description: "repeated column", text: "userId,movieId,rating,Rating\n1,2,3,4\n",
      line: 1, value: "rating",
      error: { .duplicateColumn(path: $0, column: "rating") }),
    BadInput(
      description: "unparsable movie id", text: header + "1,2,4,5\n1,abc,4.0,5\n", line: 3,
      value: "abc",
      error: { .invalidNumber(path: $0, line: 3, column: "movieId", value: "abc") }),
    BadInput(
      description: "unparsable user id", text: header + "1.5,2,4.0,5\n", line: 2, value: "1.5",
      error: { .invalidNumber(path: $0, line: 2, column: "userId", value: "1.5") }),
    BadInput(
      description: "unparsable rating", text: header + "1,2,four,5\n", line: 2, value: "four",
      error: { .invalidNumber(path: $0, line: 2, column: "rating", value: "four") }),
    BadInput(
      description: "empty rating", text: header + "1,2,,5\n", line: 2, value: nil,
      error: { .invalidNumber(path: $0, line: 2, column: "rating", value: "") }),
    BadInput(
      description: "unparsable timestamp", text: header + "1,2,4.0,noon\n", line: 2,
      value: "noon",
      error: { .invalidNumber(path: $0, line: 2, column: "timestamp", value: "noon") }),
    BadInput(
      description: "rating 0", text: header + "1,2,0,5\n", line: 2, value: "0",
      error: { .ratingOutOfRange(path: $0, line: 2, value: "0", scale: 0.5...5) }),
    BadInput(
      description: "rating 5.5", text: header + "1,2,5.5,5\n", line: 2, value: "5.5",
      error: { .ratingOutOfRange(path: $0, line: 2, value: "5.5", scale: 0.5...5) }),
    BadInput(
      description: "rating -1", text: header + "1,2,-1,5\n", line: 2, value: "-1",
      error: { .ratingOutOfRange(path: $0, line: 2, value: "-1", scale: 0.5...5) }),
    BadInput(
      description: "rating nan", text: header + "1,2,nan,5\n", line: 2, value: "nan",
      error: { .ratingOutOfRange(path: $0, line: 2, value: "nan", scale: 0.5...5) }),
    BadInput(
      description: "rating inf", text: header + "1,2,inf,5\n", line: 2, value: "inf",
      error: { .ratingOutOfRange(path: $0, line: 2, value: "inf", scale: 0.5...5) }),
    BadInput(
      description: "id over Int32.max", text: header + "2147483648,2,4.0,5\n", line: 2,
      value: "2147483648",
      error: { .idOutOfRange(path: $0, line: 2, column: "userId", value: "2147483648") }),
    BadInput(
      description: "id over Int64.max", text: header + "1,99999999999999999999,4.0,5\n",
      line: 2, value: "99999999999999999999",
      error: {
        .idOutOfRange(path: $0, line: 2, column: "movieId", value: "99999999999999999999")
      }),
    BadInput(
      description: "negative id", text: header + "-7,2,4.0,5\n", line: 2, value: "-7",
      error: { .idOutOfRange(path: $0, line: 2, column: "userId", value: "-7") }),
    BadInput(
      description: "too few fields", text: header + "1,2,4.0,5\n1,2,4.0\n", line: 3, value: nil,
      error: { .wrongFieldCount(path: $0, line: 3, expected: 4, found: 3) }),
    BadInput(
      description: "too many fields", text: header + "1,2,4.0,5,extra\n", line: 2, value: nil,
      error: { .wrongFieldCount(path: $0, line: 2, expected: 4, found: 5) }),
    BadInput(
      description: "unterminated quote", text: header + "1,2,4.0,5\n1,\"2,4.0,5\n3,4,5,6\n",
      line: 3, value: nil,
      error: { .unterminatedQuote(path: $0, line: 3) }),
    BadInput(
      description: "bad row after CRLF and empty lines",
      text: "userId,movieId,rating\r\n1,2,4\r\n\r\n\n3,4,9\r\n", line: 5, value: "9",
      error: { .ratingOutOfRange(path: $0, line: 5, value: "9", scale: 0.5...5) }),
    BadInput(
      description: "bad row after a quoted line break",
      text: "userId,note,movieId,rating\n1,\"a\nb\",2,4\n1,x,2,0.25\n", line: 4, value: "0.25",
      error: { .ratingOutOfRange(path: $0, line: 4, value: "0.25", scale: 0.5...5) }),
  ]

  @Test(arguments: badInputs)
  func badInputIsRejected(input: BadInput) throws {
    try withTemporaryDirectory { directory in
      let path = try writeFixture(input.text, named: "ratings.csv", in: directory)
      let error = try #require(throws: DataError.self) {
        try MovieLensLoader.load(.files(ratings: path, movies: nil))
      }
      #expect(error == input.error(path))
    }
  }

  @Test(arguments: badInputs)
  func descriptionNamesFileLineAndValue(input: BadInput) throws {
    try withTemporaryDirectory { directory in
      let path = try writeFixture(input.text, named: "ratings.csv", in: directory)
      let error = try #require(throws: DataError.self) {
        try MovieLensLoader.load(.files(ratings: path, movies: nil))
      }
      let description = error.description
      #expect(description.hasPrefix(path + ": "))
      if let line = input.line {
        #expect(description.contains("line \(line):"))
      }
      if let value = input.value {
        #expect(description.contains("'\(value)'"))
      }
    }
  }

  @Test func missingRatingsFileIsNotFound() throws {
    try withTemporaryDirectory { directory in
      let path = directory + "/absent.csv"
      #expect(throws: DataError.fileNotFound(path: path)) {
        try MovieLensLoader.load(.files(ratings: path, movies: nil))
      }
    }
  }

  @Test func directoryAsRatingsFileIsUnreadable() throws {
    try withTemporaryDirectory { directory in
      let error = try #require(throws: DataError.self) {
        try MovieLensLoader.load(.files(ratings: directory, movies: nil))
      }
      guard case .unreadableFile(let path, _) = error else {
        Issue.record("expected unreadableFile, got \(error)")
        return
      }
      #expect(path == directory)
    }
  }

  // MARK: - Accepted input

  @Test func readsCRLFBomAndEmptyLines() throws {
    // A byte order mark, CRLF line ends, two empty lines and no line break
    // after the last row.
    let bytes: [UInt8] =
      [0xEF, 0xBB, 0xBF]
      + Array("userId,movieId,rating,timestamp\r\n1,10,4.0,5\r\n\r\n2,10,3.5,6\r\n\r\n2,20,1".utf8)
      + Array(".5,7".utf8)
    let loaded = try withTemporaryDirectory { directory in
      let path = try writeFixture(bytes, named: "ratings.csv", in: directory)
      return try MovieLensLoader.load(.files(ratings: path, movies: nil))
    }
    let ratings = loaded.dataset.ratings
    #expect(ratings.count == 3)
    #expect(ratings.values == [4, 3.5, 1.5])
    #expect(ratings.timestamps == [5, 6, 7])
    #expect(loaded.skippedEmptyLines == 2)
    #expect(loaded.droppedDuplicates == 0)
    #expect(loaded.dataset.hasTimestamps)
  }

  @Test func idsBecomeSortedIndices() throws {
    let loaded = try Self.loadRatings(Self.header + "30,7,4,1\n10,500,3,2\n20,7,2,3\n10,9,5,4\n")
    let dataset = loaded.dataset
    #expect(dataset.users.ids == [10, 20, 30])
    #expect(dataset.items.ids == [7, 9, 500])
    #expect(dataset.ratings.users == [2, 0, 1, 0])
    #expect(dataset.ratings.items == [0, 2, 0, 1])
    #expect(dataset.userCount == 3)
    #expect(dataset.itemCount == 3)
  }

  @Test func moviesAddTitlesAndUnratedItems() throws {
    let loaded = try withTemporaryDirectory { directory in
      let ratings = try writeFixture(
        Self.header + "1,2,4,1\n1,5,3,2\n", named: "ratings.csv", in: directory)
      let movies = try writeFixture(
        """
        movieId,title,genres
        2,"Dinner, The (1999)",Comedy
        3,"He Said ""Hi"" (2000)",Drama
        5,Amélie (2001),Romance
        """, named: "movies.csv", in: directory)
      return try MovieLensLoader.load(.files(ratings: ratings, movies: movies))
    }
    let dataset = loaded.dataset
    #expect(dataset.items.ids == [2, 3, 5])
    #expect(dataset.titles == ["Dinner, The (1999)", "He Said \"Hi\" (2000)", "Amélie (2001)"])
    #expect(dataset.genres == ["Comedy", "Drama", "Romance"])
    #expect(dataset.ratings.count == 2)
  }

  @Test func unlistedMovieHasEmptyTitle() throws {
    let loaded = try withTemporaryDirectory { directory in
      let ratings = try writeFixture(
        Self.header + "1,2,4,1\n1,8,3,2\n", named: "ratings.csv", in: directory)
      let movies = try writeFixture(
        "movieId,title,genres\n2,Heat (1995),Action\n", named: "movies.csv", in: directory)
      return try MovieLensLoader.load(.files(ratings: ratings, movies: movies))
    }
    #expect(loaded.dataset.titles == ["Heat (1995)", ""])
  }

  @Test func duplicateKeepsLatestTimestamp() throws {
    // User 1 rated movie 10 three times; the row at time 200 is the latest.
    let loaded = try Self.loadRatings(
      Self.header + "1,10,3.0,100\n1,11,2.0,100\n1,10,4.0,200\n2,10,5.0,50\n1,10,2.0,150\n")
    let ratings = loaded.dataset.ratings
    #expect(loaded.droppedDuplicates == 2)
    #expect(ratings.count == 3)
    // Surviving rows keep their file order: (1, 11), (1, 10) at 200, (2, 10).
    #expect(ratings.values == [2, 4, 5])
    #expect(ratings.timestamps == [100, 200, 50])
  }

  @Test func duplicateTieKeepsLaterRow() throws {
    let loaded = try Self.loadRatings(Self.header + "1,10,3.0,100\n1,10,4.5,100\n")
    #expect(loaded.droppedDuplicates == 1)
    #expect(loaded.dataset.ratings.values == [4.5])
  }

  @Test func duplicatesWithoutTimestampsKeepLaterRow() throws {
    let loaded = try Self.loadRatings("userId,movieId,rating\n1,10,3\n1,10,1\n1,10,2\n")
    #expect(loaded.droppedDuplicates == 2)
    #expect(loaded.dataset.ratings.values == [2])
    #expect(!loaded.dataset.hasTimestamps)
  }

  // MARK: - Sources

  @Test func splitFilesDefineSplit() throws {
    let loaded = try withTemporaryDirectory { directory in
      let base = try writeFixture(
        Self.header + "1,10,4,1\n2,10,3,2\n2,11,5,3\n", named: "base.csv", in: directory)
      let meta = try writeFixture(Self.header + "1,11,2,4\n", named: "meta.csv", in: directory)
      // Movie 12 appears only in test: it is in the index but has no
      // training rows.
      let test = try writeFixture(
        Self.header + "1,12,1,5\n2,12,2,6\n", named: "test.csv", in: directory)
      return try MovieLensLoader.load(
        .splitFiles(base: base, meta: meta, test: test, movies: nil))
    }
    let split = try #require(loaded.predefinedSplit)
    #expect(split.baseTrain == [0, 1, 2])
    #expect(split.metaTrain == [3])
    #expect(split.test == [4, 5])
    #expect(loaded.dataset.ratings.values == [4, 3, 5, 2, 1, 2])
    #expect(loaded.dataset.items.ids == [10, 11, 12])
  }

  @Test func splitFilesDropDuplicatesPerFile() throws {
    let loaded = try withTemporaryDirectory { directory in
      // (1, 10) twice in base and once more in test: only the base pair is
      // a duplicate.
      let base = try writeFixture(
        Self.header + "1,10,4,1\n1,10,2,2\n2,10,3,3\n", named: "base.csv", in: directory)
      let meta = try writeFixture(Self.header + "2,11,2,4\n", named: "meta.csv", in: directory)
      let test = try writeFixture(Self.header + "1,10,5,5\n", named: "test.csv", in: directory)
      return try MovieLensLoader.load(
        .splitFiles(base: base, meta: meta, test: test, movies: nil))
    }
    let split = try #require(loaded.predefinedSplit)
    #expect(loaded.droppedDuplicates == 1)
    #expect(split.baseTrain == [0, 1])
    #expect(split.metaTrain == [2])
    #expect(split.test == [3])
    #expect(loaded.dataset.ratings.values == [2, 3, 2, 5])
  }

  @Test func plainFilesHaveNoPredefinedSplit() throws {
    let loaded = try Self.loadRatings(Self.header + "1,10,4,1\n")
    #expect(loaded.predefinedSplit == nil)
  }

  @Test func directoryReadsRatingsAndMovies() throws {
    let loaded = try withTemporaryDirectory { directory in
      try writeFixture(Self.header + "1,10,4,1\n", named: "ratings.csv", in: directory)
      try writeFixture(
        "movieId,title,genres\n10,Heat (1995),Action\n11,Up (2009),Animation\n",
        named: "movies.csv", in: directory)
      return try MovieLensLoader.load(.directory(directory))
    }
    #expect(loaded.dataset.ratings.count == 1)
    #expect(loaded.dataset.items.ids == [10, 11])
    #expect(loaded.dataset.titles == ["Heat (1995)", "Up (2009)"])
  }

  @Test func directoryWithoutMoviesLoadsRatings() throws {
    let loaded = try withTemporaryDirectory { directory in
      try writeFixture(Self.header + "1,10,4,1\n", named: "ratings.csv", in: directory)
      return try MovieLensLoader.load(.directory(directory + "/"))
    }
    #expect(loaded.dataset.items.ids == [10])
    #expect(loaded.dataset.titles == [""])
  }

  @Test func missingDirectoryIsNotFound() throws {
    try withTemporaryDirectory { directory in
      let missing = directory + "/ml-latest-small"
      #expect(throws: DataError.fileNotFound(path: missing)) {
        try MovieLensLoader.load(.directory(missing))
      }
    }
  }

  @Test func directoryWithoutRatingsIsUnknownFormat() throws {
    try withTemporaryDirectory { directory in
      try writeFixture("movieId,title\n1,Heat\n", named: "movies.csv", in: directory)
      let error = try #require(throws: DataError.self) {
        try MovieLensLoader.load(.directory(directory))
      }
      guard case .unknownFormat(let reported, let reason) = error else {
        Issue.record("expected unknownFormat, got \(error)")
        return
      }
      #expect(reported == directory)
      #expect(reason.contains("ratings.csv"))
    }
  }

  @Test func fingerprintFollowsContent() throws {
    let first = try Self.loadRatings(Self.header + "1,10,4,1\n")
    let same = try Self.loadRatings(Self.header + "1,10,4,1\n")
    let other = try Self.loadRatings(Self.header + "1,10,4.5,1\n")
    #expect(first.dataset.fingerprint == same.dataset.fingerprint)
    #expect(first.dataset.fingerprint != other.dataset.fingerprint)
  }

  @Test func customScaleBoundsRatings() throws {
    try withTemporaryDirectory { directory in
      let path = try writeFixture(
        "userId,movieId,rating\n1,2,7\n1,3,11\n", named: "ratings.csv", in: directory)
      #expect(
        throws: DataError.ratingOutOfRange(path: path, line: 3, value: "11", scale: 1...10)
      ) {
        try MovieLensLoader.load(.files(ratings: path, movies: nil), scale: 1...10)
      }
    }
  }
}
