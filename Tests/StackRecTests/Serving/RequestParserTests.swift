import Testing

@testable import StackRec

@Suite struct RequestParserTests {
  /// Small limits so the boundaries are cheap to reach.
  private static let parser = RequestParser(maxCount: 50, maxBatch: 4, defaultCount: 7)

  private func parse(_ line: String) throws(RequestError) -> Request? {
    try Self.parser.parse(Array(line.utf8))
  }

  /// Parses `line`, returning its error, or nil when it parses.
  private func parseError(_ bytes: [UInt8]) -> RequestError? {
    do {
      _ = try Self.parser.parse(bytes)
      return nil
    } catch {
      return error
    }
  }

  // MARK: - Valid requests

  /// How the command word of a request line is written.
  enum Casing: String, CaseIterable, Sendable {
    case upper, lower, mixed

    /// Rewrites the first word of `line`: `SCORE` becomes `SCORE`, `score`
    /// or `ScOrE`.
    func apply(to line: String) -> String {
      let word = line.prefix { $0 != " " }
      let rest = line.dropFirst(word.count)
      switch self {
      case .upper: return word.uppercased() + rest
      case .lower: return word.lowercased() + rest
      case .mixed:
        let mixed = word.enumerated().map {
          $0.offset % 2 == 0 ? $0.element.uppercased() : $0.element.lowercased()
        }
        return mixed.joined() + rest
      }
    }
  }

  static let validLines: [(String, Request)] = [
    ("SCORE 1 2", .score(user: 1, item: 2)),
    ("SCORE 0 2147483647", .score(user: 0, item: Int32.max)),
    ("SCORES 5 10", .scores(user: 5, items: [10])),
    ("SCORES 5 10 20 30 40", .scores(user: 5, items: [10, 20, 30, 40])),
    ("RECOMMEND 9", .recommend(user: 9, count: 7)),
    ("RECOMMEND 9 1", .recommend(user: 9, count: 1)),
    ("RECOMMEND 9 50", .recommend(user: 9, count: 50)),
    ("EXPLAIN 3 4", .explain(user: 3, item: 4)),
    ("INFO", .info),
    ("PING", .ping),
    ("RELOAD", .reload),
    ("QUIT", .quit),
  ]

  @Test(arguments: validLines, Casing.allCases)
  func commandParsesInAnyCase(line: (String, Request), casing: Casing) throws {
    let text = casing.apply(to: line.0)
    #expect(try parse(text) == line.1, "\(text)")
  }

  @Test(arguments: [
    "  SCORE 1 2", "SCORE 1 2  ", "SCORE   1    2", "\tSCORE\t1\t2\t", " \t SCORE \t 1 \t 2",
  ])
  func spacesAndTabsSeparateWords(line: String) throws {
    #expect(try parse(line) == .score(user: 1, item: 2))
  }

  @Test(arguments: ["", " ", "\t", "  \t \t  "])
  func blankLineIsNoRequest(line: String) throws {
    #expect(try parse(line) == nil)
  }

  // MARK: - Malformed requests

  static let malformedLines: [(String, RequestError)] = [
    ("FOO 1 2", .unknownCommand("FOO")),
    ("SCOREX 1 2", .unknownCommand("SCOREX")),
    ("SCO 1 2", .unknownCommand("SCO")),
    ("1 2", .unknownCommand("1")),
    ("SCORE", .wrongArity(command: "SCORE", usage: "SCORE user item")),
    ("SCORE 1", .wrongArity(command: "SCORE", usage: "SCORE user item")),
    ("SCORE 1 2 3", .wrongArity(command: "SCORE", usage: "SCORE user item")),
    ("SCORES", .wrongArity(command: "SCORES", usage: "SCORES user item [item ...]")),
    ("SCORES 1", .wrongArity(command: "SCORES", usage: "SCORES user item [item ...]")),
    ("RECOMMEND", .wrongArity(command: "RECOMMEND", usage: "RECOMMEND user [k]")),
    ("RECOMMEND 1 2 3", .wrongArity(command: "RECOMMEND", usage: "RECOMMEND user [k]")),
    ("EXPLAIN 1", .wrongArity(command: "EXPLAIN", usage: "EXPLAIN user item")),
    ("EXPLAIN 1 2 3", .wrongArity(command: "EXPLAIN", usage: "EXPLAIN user item")),
    ("INFO now", .wrongArity(command: "INFO", usage: "INFO")),
    ("PING PONG", .wrongArity(command: "PING", usage: "PING")),
    ("RELOAD store.sqlite", .wrongArity(command: "RELOAD", usage: "RELOAD")),
    ("QUIT 0", .wrongArity(command: "QUIT", usage: "QUIT")),
    ("SCORE abc 2", .invalidID("abc")),
    ("SCORE 1 x7", .invalidID("x7")),
    ("SCORE 1 2.5", .invalidID("2.5")),
    ("SCORE 1 0x10", .invalidID("0x10")),
    ("SCORE -1 2", .invalidID("-1")),
    ("SCORE 1 -2147483648", .invalidID("-2147483648")),
    ("SCORE 2147483648 2", .invalidID("2147483648")),
    ("SCORE 1 99999999999999999999999", .invalidID("99999999999999999999999")),
    ("SCORES 1 2 three", .invalidID("three")),
    ("SCORES u 2 3", .invalidID("u")),
    ("RECOMMEND me", .invalidID("me")),
    ("RECOMMEND -5 3", .invalidID("-5")),
    ("EXPLAIN 1 -", .invalidID("-")),
    ("RECOMMEND 1 0", .invalidCount("0", maximum: 50)),
    ("RECOMMEND 1 51", .invalidCount("51", maximum: 50)),
    ("RECOMMEND 1 -3", .invalidCount("-3", maximum: 50)),
    ("RECOMMEND 1 ten", .invalidCount("ten", maximum: 50)),
    ("RECOMMEND 1 99999999999999999999", .invalidCount("99999999999999999999", maximum: 50)),
    ("SCORES 1 2 3 4 5 6", .tooManyItems(maximum: 4)),
  ]

  @Test(arguments: malformedLines)
  func malformedLineThrowsError(line: String, expected: RequestError) {
    #expect(parseError(Array(line.utf8)) == expected)
  }

  @Test(arguments: [
    ("foo 1", "unknown command"), ("SCORE 1", "wrong number of arguments"),
    ("score x 1", "invalid id"), ("recommend 1 0", "invalid count"),
    ("scores 1 2 3 4 5 6", "too many items"),
  ])
  func errorDescriptionStartsWithPhrase(line: String, phrase: String) throws {
    let error = try #require(parseError(Array(line.utf8)))
    #expect(error.description.hasPrefix(phrase), "\(error.description)")
  }

  @Test func unknownCommandListsCommands() throws {
    let error = try #require(parseError(Array("HELLO".utf8)))
    #expect(
      error.description
        == "unknown command 'HELLO'; commands are "
        + "SCORE, SCORES, RECOMMEND, EXPLAIN, INFO, PING, RELOAD, QUIT")
  }

  @Test func wrongArityShowsUsage() throws {
    let error = try #require(parseError(Array("explain 1".utf8)))
    #expect(error.description == "wrong number of arguments for EXPLAIN; usage: EXPLAIN user item")
  }

  @Test func longUnknownCommandIsShortened() throws {
    let word = String(repeating: "X", count: 200)
    let error = try #require(parseError(Array(word.utf8)))
    #expect(
      error.description.hasPrefix("unknown command '\(String(repeating: "X", count: 32))...'"))
    #expect(error.description.count < 150)
  }

  @Test func controlBytesAreEscapedInErrors() throws {
    let error = try #require(parseError([0x46, 0x4F, 0x01, 0x1B, 0x20, 0x31]))
    #expect(error == .unknownCommand("FO\u{01}\u{1B}"))
    #expect(error.description.hasPrefix("unknown command 'FO\\x1\\x1B'"))
  }

  @Test(arguments: [
    [UInt8]([0x53, 0x43, 0x4F, 0x52, 0x45, 0x20, 0xFF, 0x20, 0x31]),  // SCORE \xFF 1
    [0x50, 0x49, 0x4E, 0x47, 0xC3],  // PING then a cut-off two-byte sequence
    [0xC0, 0xAF],  // an overlong encoding of '/'
    [0x53, 0x43, 0x4F, 0x52, 0x45, 0x20, 0x31, 0x20, 0xED, 0xA0, 0x80],  // a UTF-16 surrogate
  ])
  func invalidUTF8IsRejected(bytes: [UInt8]) throws {
    let error = try #require(parseError(bytes))
    #expect(error == .invalidUTF8)
    #expect(error.description.hasPrefix("invalid UTF-8"))
  }

  @Test func validUTF8UnknownCommandIsReported() {
    #expect(parseError(Array("ÉCOUTE 1".utf8)) == .unknownCommand("ÉCOUTE"))
  }

  @Test func defaultLimitsAcceptLargeRequests() throws {
    let parser = RequestParser()
    let items = (1...1000).map(String.init).joined(separator: " ")
    #expect(
      try parser.parse(Array("SCORES 1 \(items)".utf8)) == .scores(user: 1, items: Array(1...1000)))
    #expect(try parser.parse(Array("RECOMMEND 1 1000".utf8)) == .recommend(user: 1, count: 1000))
    #expect(try parser.parse(Array("RECOMMEND 1".utf8)) == .recommend(user: 1, count: 10))
    #expect(throws: RequestError.tooManyItems(maximum: 1000)) {
      try parser.parse(Array("SCORES 1 \(items) 1001".utf8))
    }
  }

  // MARK: - RESP

  /// Parses `arguments` as the bulk strings of a RESP request.
  private func parseRESP(_ arguments: [[UInt8]]) throws(RequestError) -> Request? {
    var buffer: [UInt8] = []
    var words: [Range<Int>] = []
    for argument in arguments {
      words.append(buffer.count..<buffer.count + argument.count)
      buffer += argument
    }
    do {
      return try buffer.withUnsafeBytes { bytes in
        try Self.parser.parse(words: words, in: bytes, format: .resp)
      }
    } catch let error as RequestError {
      throw error
    } catch {
      preconditionFailure("parse throws only RequestError")
    }
  }

  private func parseRESP(_ arguments: [String]) throws(RequestError) -> Request? {
    try parseRESP(arguments.map { Array($0.utf8) })
  }

  private func parseRESPError(_ arguments: [String]) -> RequestError? {
    do {
      _ = try parseRESP(arguments)
      return nil
    } catch {
      return error
    }
  }

  @Test(arguments: validLines)
  func textRequestsParseTheSameInRESP(line: String, expected: Request) throws {
    let words = line.split(separator: " ").map(String.init)
    #expect(try parseRESP(words) == expected)
  }

  static let respOnlyRequests: [([String], Request)] = [
    (["PING", "hello world"], .echo("hello world")),
    (["ping", ""], .echo("")),
    (["COMMAND"], .commandDocs),
    (["COMMAND", "DOCS"], .commandDocs),
    (["command", "docs", "SCORE", "PING"], .commandDocs),
    (["CONFIG", "GET", "save"], .configGet(["save"])),
    (["config", "get", "save", "appendonly"], .configGet(["save", "appendonly"])),
    // redis-benchmark's __rand_int__ writes ids with leading zeros.
    (["SCORE", "000000000012", "31"], .score(user: 12, item: 31)),
  ]

  @Test(arguments: respOnlyRequests)
  func respRequestParses(arguments: [String], expected: Request) throws {
    #expect(try parseRESP(arguments) == expected)
  }

  static let malformedRESPRequests: [([String], RequestError)] = [
    (["FOO"], .unknownCommand("FOO")),
    ([""], .unknownCommand("")),
    (["SCORE 1 31"], .unknownCommand("SCORE 1 31")),
    (["PING", "a", "b"], .wrongArity(command: "PING", usage: "PING [message]")),
    (["SCORE", "1"], .wrongArity(command: "SCORE", usage: "SCORE user item")),
    (["SCORE", "1 2", "3"], .invalidID("1 2")),
    (["SCORE", "", "3"], .invalidID("")),
    (["SCORES", "1", "2", "3", "4", "5", "6"], .tooManyItems(maximum: 4)),
    (
      ["COMMAND", "COUNT"],
      .unknownSubcommand(command: "COMMAND", name: "COUNT", usage: "COMMAND [DOCS [command ...]]")
    ),
    (
      ["CONFIG", "GET"],
      .wrongArity(command: "CONFIG", usage: "CONFIG GET parameter [parameter ...]")
    ),
    (
      ["CONFIG", "SET", "save", ""],
      .unknownSubcommand(
        command: "CONFIG", name: "SET", usage: "CONFIG GET parameter [parameter ...]")
    ),
  ]

  @Test(arguments: malformedRESPRequests)
  func malformedRESPRequestThrowsError(arguments: [String], expected: RequestError) {
    #expect(parseRESPError(arguments) == expected)
  }

  @Test func invalidUTF8InRESPIsRejected() {
    #expect(throws: RequestError.invalidUTF8) {
      try parseRESP([Array("SCORE".utf8), [0x31, 0xFF], Array("2".utf8)])
    }
  }

  @Test func emptyRESPArrayIsNoRequest() throws {
    #expect(try parseRESP([String]()) == nil)
  }

  @Test(arguments: ["COMMAND", "COMMAND DOCS", "CONFIG GET save", "PING hello"])
  func respOnlyCommandsAreRejectedInText(line: String) {
    let expected: RequestError =
      line.hasPrefix("PING")
      ? .wrongArity(command: "PING", usage: "PING")
      : .unknownCommand(String(line.prefix { $0 != " " }))
    #expect(parseError(Array(line.utf8)) == expected)
  }

  @Test func unknownSubcommandShowsUsage() throws {
    let error = try #require(parseRESPError(["CONFIG", "RESETSTAT", "now"]))
    #expect(
      error.description
        == "unknown subcommand 'RESETSTAT' for CONFIG; usage: CONFIG GET parameter [parameter ...]")
  }
}
