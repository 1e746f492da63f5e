import Testing

@testable import StackRec

@Suite struct DataErrorTests {
  @Test(arguments: [
    DataError.wrongFieldCount(path: "r.csv", line: 12, expected: 4, found: 3),
    .invalidNumber(path: "r.csv", line: 12, column: "rating", value: "x1"),
    .idOutOfRange(path: "r.csv", line: 12, column: "userId", value: "-4"),
    .ratingOutOfRange(path: "r.csv", line: 12, value: "9", scale: 0.5...5),
    .invalidText(path: "r.csv", line: 12, reason: "unexpected character"),
    .unterminatedQuote(path: "r.csv", line: 12),
  ])
  func rowErrorNamesFileAndLine(error: DataError) {
    #expect(error.description.hasPrefix("r.csv: line 12: "))
  }

  @Test func valuesAppearQuoted() {
    let invalid = DataError.invalidNumber(path: "r.csv", line: 3, column: "rating", value: "x1")
    let range = DataError.ratingOutOfRange(path: "r.csv", line: 3, value: "9", scale: 0.5...5)
    let id = DataError.idOutOfRange(path: "r.csv", line: 3, column: "userId", value: "-4")
    #expect(invalid.description.contains("'x1'"))
    #expect(invalid.description.contains("'rating'"))
    #expect(range.description.contains("'9'"))
    #expect(range.description.contains("0.5-5.0"))
    #expect(id.description.contains("'-4'"))
    #expect(id.description.contains("2147483647"))
  }

  @Test func fileErrorsNamePath() {
    #expect(DataError.fileNotFound(path: "/d/r.csv").description.hasPrefix("/d/r.csv: "))
    #expect(DataError.emptyFile(path: "/d/r.csv").description.hasPrefix("/d/r.csv: "))
    #expect(DataError.noRatings(path: "/d/r.csv").description.hasPrefix("/d/r.csv: "))
    #expect(
      DataError.unknownFormat(directory: "/d", reason: "ratings.csv is missing").description
        .hasPrefix("/d: "))
  }

  @Test func excerptEscapesControlCharacters() {
    #expect(excerpt("a\nb\tc\u{7F}") == "a\\xAb\\x9c\\x7F")
  }

  @Test func excerptCutsLongText() {
    let text = String(repeating: "x", count: 100)
    #expect(excerpt(text) == String(repeating: "x", count: 64) + "...")
    #expect(excerpt(String(repeating: "y", count: 64)) == String(repeating: "y", count: 64))
  }

  @Test func longValueIsCutInDescription() {
    let value = String(repeating: "9", count: 500)
    let error = DataError.invalidNumber(path: "r.csv", line: 2, column: "rating", value: value)
    #expect(error.description.count < 200)
  }
}
