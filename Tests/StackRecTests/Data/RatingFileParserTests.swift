import Testing

@testable import StackRec

@Suite struct RatingFileParserTests {
  static func parseRatings(_ text: String) throws -> RatingRows {
    try RatingFileParser.parseRatingsCSV(
      bytes: Array(text.utf8), path: "ratings.csv", scale: 0.5...5)
  }

  static func parseMovies(_ bytes: [UInt8]) throws -> (movies: [MovieRow], repairedTitles: Int) {
    try RatingFileParser.parseMoviesCSV(bytes: bytes, path: "movies.csv")
  }

  // MARK: - Ratings

  @Test func parsesMovieLensHeader() throws {
    let rows = try Self.parseRatings(
      "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n7,1029,3.0,1260759179\n")
    #expect(rows.userIDs == [1, 7])
    #expect(rows.itemIDs == [31, 1029])
    #expect(rows.values == [2.5, 3])
    #expect(rows.timestamps == [1_260_759_144, 1_260_759_179])
    #expect(rows.hasTimestamps)
  }

  @Test func columnsMayComeInAnyOrder() throws {
    let rows = try Self.parseRatings(
      "timestamp,rating,source,movieId,userId\n99,4.5,web,12,3\n100,1,app,13,4\n")
    #expect(rows.userIDs == [3, 4])
    #expect(rows.itemIDs == [12, 13])
    #expect(rows.values == [4.5, 1])
    #expect(rows.timestamps == [99, 100])
  }

  @Test func headerIgnoresCaseAndSpaces() throws {
    let rows = try Self.parseRatings(" UserID , MOVIEID ,Rating\n5,6,3.5\n")
    #expect(rows.userIDs == [5])
    #expect(rows.itemIDs == [6])
    #expect(rows.values == [3.5])
  }

  @Test func itemIdNamesMovieColumn() throws {
    let rows = try Self.parseRatings("userId,itemId,rating\n1,2,4\n")
    #expect(rows.itemIDs == [2])
  }

  @Test func missingTimestampColumnGivesZero() throws {
    let rows = try Self.parseRatings("userId,movieId,rating\n1,2,4\n3,4,5\n")
    #expect(!rows.hasTimestamps)
    #expect(rows.timestamps == [0, 0])
  }

  @Test(arguments: ["0.5", "5", "5.0", "3.25", " 4 ", "4e0"])
  func ratingInsideScaleIsAccepted(text: String) throws {
    let rows = try Self.parseRatings("userId,movieId,rating\n1,2,\(text)\n")
    #expect(rows.values == [Float(Double(text.trimmingSpaces())!)])
  }

  @Test func idsAtBothLimitsAreAccepted() throws {
    let rows = try Self.parseRatings("userId,movieId,rating\n0,2147483647,4\n")
    #expect(rows.userIDs == [0])
    #expect(rows.itemIDs == [Int32.max])
  }

  // MARK: - Movies

  @Test func moviesKeepQuotedTitles() throws {
    let text = """
      movieId,title,genres
      1,"Dinner, The (1999)",Comedy
      2,"He Said ""Hi"" (2000)",Drama|Romance
      3,Amélie (Fabuleux destin d'Amélie Poulain) (2001),Comedy
      4,"Ni, ""Ñ"", 東京 (1990)",(no genres listed)
      """
    let parsed = try Self.parseMovies(Array(text.utf8))
    #expect(parsed.movies.map(\.id) == [1, 2, 3, 4])
    #expect(
      parsed.movies.map(\.title) == [
        "Dinner, The (1999)", "He Said \"Hi\" (2000)",
        "Amélie (Fabuleux destin d'Amélie Poulain) (2001)", "Ni, \"Ñ\", 東京 (1990)",
      ])
    #expect(
      parsed.movies.map(\.genres) == ["Comedy", "Drama|Romance", "Comedy", "(no genres listed)"])
    #expect(parsed.repairedTitles == 0)
  }

  @Test func latin1TitleIsRepaired() throws {
    // "Am\u{E9}lie" in Latin-1: the byte 0xE9 alone is not valid UTF-8.
    let bytes = Array("movieId,title\n1,Am".utf8) + [0xE9] + Array("lie\n2,Plain\n".utf8)
    let parsed = try Self.parseMovies(bytes)
    #expect(parsed.movies.map(\.title) == ["Amélie", "Plain"])
    #expect(parsed.repairedTitles == 1)
  }

  @Test func genresColumnIsOptional() throws {
    let parsed = try Self.parseMovies(Array("title,movieId\nHeat (1995),6\n".utf8))
    #expect(parsed.movies.map(\.id) == [6])
    #expect(parsed.movies.map(\.title) == ["Heat (1995)"])
    #expect(parsed.movies.map(\.genres) == [""])
  }

  @Test func moviesWithoutTitleColumnAreRejected() {
    #expect(
      throws: DataError.missingColumn(path: "movies.csv", column: "title", header: "movieId,genres")
    ) {
      try Self.parseMovies(Array("movieId,genres\n1,Comedy\n".utf8))
    }
  }

  @Test func extraMovieFieldIsRejected() {
    // An unquoted comma in a title splits it into two fields.
    #expect(
      throws: DataError.wrongFieldCount(path: "movies.csv", line: 3, expected: 3, found: 4)
    ) {
      try Self.parseMovies(
        Array("movieId,title,genres\n1,Heat,Action\n2,Dinner, The,Comedy\n".utf8))
    }
  }
}
