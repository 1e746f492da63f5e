import Testing

@testable import StackRec

@Suite struct RecordScannerTests {
  /// What scanning a whole input produced.
  struct Scan: Equatable {
    /// Each record's fields, unescaped.
    var records: [[String]]
    /// The line on which each record starts.
    var lines: [Int]
    var skippedEmptyLines: Int
  }

  static func scan(_ bytes: [UInt8], separator: String = ",") throws -> Scan {
    try bytes.withUnsafeBufferPointer { buffer in
      var scanner = RecordScanner(bytes: buffer, path: "input.csv", separator: separator)
      var result = Scan(records: [], lines: [], skippedEmptyLines: 0)
      while try scanner.next() {
        result.records.append((0..<scanner.fields.count).map { scanner.text($0) })
        result.lines.append(scanner.line)
      }
      result.skippedEmptyLines = scanner.skippedEmptyLines
      return result
    }
  }

  static func scan(_ text: String, separator: String = ",") throws -> Scan {
    try scan(Array(text.utf8), separator: separator)
  }

  @Test func splitsPlainRecords() throws {
    let result = try Self.scan("a,b,c\n1,2,3\n")
    #expect(result.records == [["a", "b", "c"], ["1", "2", "3"]])
    #expect(result.lines == [1, 2])
    #expect(result.skippedEmptyLines == 0)
  }

  @Test func lastLineNeedsNoLineBreak() throws {
    let result = try Self.scan("a,b\n1,2")
    #expect(result.records == [["a", "b"], ["1", "2"]])
  }

  @Test func keepsEmptyFields() throws {
    let result = try Self.scan("a,,c\n,\n")
    #expect(result.records == [["a", "", "c"], ["", ""]])
  }

  @Test func quotedFieldKeepsSeparators() throws {
    let result = try Self.scan("1,\"Dinner, The (1999)\",Comedy\n")
    #expect(result.records == [["1", "Dinner, The (1999)", "Comedy"]])
  }

  @Test func doubledQuoteIsOneQuote() throws {
    let result = try Self.scan("1,\"He Said \"\"Hi\"\" (2000)\",\"\"\"\"\n")
    #expect(result.records == [["1", "He Said \"Hi\" (2000)", "\""]])
  }

  @Test func quotedLineBreakCountsLines() throws {
    let result = try Self.scan("1,\"two\nlines\",x\n2,y,z\n")
    #expect(result.records == [["1", "two\nlines", "x"], ["2", "y", "z"]])
    #expect(result.lines == [1, 3])
  }

  @Test func crlfEndsLines() throws {
    let result = try Self.scan("a,b\r\n1,\"x\"\r\n2,3\r")
    #expect(result.records == [["a", "b"], ["1", "x"], ["2", "3"]])
    #expect(result.lines == [1, 2, 3])
  }

  @Test func byteOrderMarkIsSkipped() throws {
    let result = try Self.scan([0xEF, 0xBB, 0xBF] + Array("userId,movieId\n1,2\n".utf8))
    #expect(result.records == [["userId", "movieId"], ["1", "2"]])
  }

  @Test func emptyLinesAreSkippedAndCounted() throws {
    // Two leading empty lines, an LF one and a CRLF one in the middle, one
    // at the end.
    let result = try Self.scan("\n\na,b\n\n\r\n1,2\n\n")
    #expect(result.records == [["a", "b"], ["1", "2"]])
    #expect(result.lines == [3, 6])
    #expect(result.skippedEmptyLines == 5)
  }

  @Test func utf8TextIsKept() throws {
    let result = try Self.scan("1,Amélie (2001),Ørsted,東京\n")
    #expect(result.records == [["1", "Amélie (2001)", "Ørsted", "東京"]])
  }

  @Test func emptyInputHasNoRecords() throws {
    #expect(try Self.scan("").records.isEmpty)
    #expect(try Self.scan([0xEF, 0xBB, 0xBF]).records.isEmpty)
  }

  @Test func unterminatedQuoteNamesOpeningLine() {
    #expect(throws: DataError.unterminatedQuote(path: "input.csv", line: 2)) {
      try Self.scan("a,b\n1,\"open\n2,3\n")
    }
  }

  @Test func textAfterClosingQuoteIsRejected() throws {
    let error = try #require(throws: DataError.self) { try Self.scan("a,b\n\"x\"y,2\n") }
    guard case .invalidText(let path, let line, _) = error else {
      Issue.record("expected invalidText, got \(error)")
      return
    }
    #expect(path == "input.csv")
    #expect(line == 2)
  }

  @Test func tabSeparatorIgnoresQuotes() throws {
    let result = try Self.scan("196\t242\t3\t881250949\n\"a\"\tb\n", separator: "\t")
    #expect(result.records == [["196", "242", "3", "881250949"], ["\"a\"", "b"]])
  }

  @Test func doubleColonSeparator() throws {
    let result = try Self.scan("1::1193::5::978300760\na:b::c\n", separator: "::")
    #expect(result.records == [["1", "1193", "5", "978300760"], ["a:b", "c"]])
  }
}
