import Testing

@testable import StackRec

@Suite struct RESPReplyEncoderTests {
  private func encode(_ reply: Reply) -> String {
    var output: [UInt8] = []
    RESPReplyEncoder.append(reply, to: &output)
    return String(decoding: output, as: UTF8.self)
  }

  private func item(_ id: Int32, _ score: Float, _ fallback: Fallback = .none) -> ScoredItem {
    ScoredItem(item: id, score: score, fallback: fallback)
  }

  // MARK: - Exact bytes

  static let explanation = Explanation(
    terms: [Explanation.Term(model: "bias", score: 3.5, weight: 0.75)], intercept: -0.25,
    unclipped: 2.375, result: 2.375, fallback: .unknownItem)

  static let cases: [(Reply, String)] = [
    (.score(3.5, .none), "*2\r\n$6\r\n3.5000\r\n$4\r\nnone\r\n"),
    (.score(3.25, .unknownItem), "*2\r\n$6\r\n3.2500\r\n$12\r\nunknown-item\r\n"),
    (
      .score(0.5, .unknownUserAndItem),
      "*2\r\n$6\r\n0.5000\r\n$21\r\nunknown-user-and-item\r\n"
    ),
    (
      .scores([
        ScoredItem(item: 10, score: 4.0625, fallback: .none),
        ScoredItem(item: 999, score: 3.5, fallback: .unknownItem),
      ]),
      "*2\r\n*2\r\n$6\r\n4.0625\r\n$4\r\nnone\r\n*2\r\n$6\r\n3.5000\r\n$12\r\nunknown-item\r\n"
    ),
    (.scores([]), "*0\r\n"),
    (
      .recommendations(
        [
          ScoredItem(item: 318, score: 4.5, fallback: .none),
          ScoredItem(item: 858, score: 4.25, fallback: .none),
        ], .none),
      "*2\r\n*4\r\n$3\r\n318\r\n$6\r\n4.5000\r\n$3\r\n858\r\n$6\r\n4.2500\r\n$4\r\nnone\r\n"
    ),
    (
      .recommendations([ScoredItem(item: 7, score: 5, fallback: .unknownUser)], .unknownUser),
      "*2\r\n*2\r\n$1\r\n7\r\n$6\r\n5.0000\r\n$12\r\nunknown-user\r\n"
    ),
    (.recommendations([], .none), "*2\r\n*0\r\n$4\r\nnone\r\n"),
    (
      .explanation(explanation),
      "*14\r\n$5\r\nscore\r\n$6\r\n2.3750\r\n$9\r\nunclipped\r\n$8\r\n2.375000\r\n"
        + "$9\r\nintercept\r\n$9\r\n-0.250000\r\n$10\r\nbias.score\r\n$8\r\n3.500000\r\n"
        + "$11\r\nbias.weight\r\n$8\r\n0.750000\r\n$17\r\nbias.contribution\r\n$8\r\n2.625000\r\n"
        + "$8\r\nfallback\r\n$12\r\nunknown-item\r\n"
    ),
    (
      .fields([("users", "4"), ("models", "bias,mf")]),
      "$25\r\nusers:4\r\nmodels:bias,mf\r\n\r\n"
    ),
    (.fields([("path", "a\r\nb")]), "$11\r\npath:a  b\r\n\r\n"),
    (.fields([]), "$0\r\n\r\n"),
    (.status("PONG"), "+PONG\r\n"),
    (.status("OK reloaded users=4"), "+OK reloaded users=4\r\n"),
    (.status("two\r\nlines"), "+two  lines\r\n"),
    (.message("hello world"), "$11\r\nhello world\r\n"),
    (.message("a\r\nb"), "$4\r\na\r\nb\r\n"),
    (.message("été"), "$5\r\nété\r\n"),
    (.message(""), "$0\r\n\r\n"),
    (.list([]), "*0\r\n"),
    (
      .list(["save", "", "appendonly", "no"]),
      "*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
    ),
    (.closing, "+OK\r\n"),
    (.error("unknown command 'FOO'"), "-ERR unknown command 'FOO'\r\n"),
    (.error("reload failed: bad\nfile"), "-ERR reload failed: bad file\r\n"),
  ]

  @Test(arguments: cases)
  func replyEncodesToExactBytes(reply: Reply, expected: String) {
    #expect(encode(reply) == expected)
  }

  @Test func repliesAppendToExistingOutput() {
    var output = Array("+PONG\r\n".utf8)
    RESPReplyEncoder.append(.score(4, .none), to: &output)
    #expect(
      String(decoding: output, as: UTF8.self) == "+PONG\r\n*2\r\n$6\r\n4.0000\r\n$4\r\nnone\r\n")
  }

  // MARK: - Bulk decimals

  /// Values whose printed length varies: signs, rounding to zero, carries, many digits, and
  /// the non-finite values printed as `nan`.
  static let decimals: [Double] = [
    0, -0.0, 0.00004, -0.00004, -0.00005, 0.99995, 9.99996, -9.99996, 1, 10, 123.456789,
    -123.456789, 999_999_999.9, -999_999_999.9, 1e9, .nan, .infinity, -.infinity,
  ]

  @Test(arguments: decimals, [0, 4, 6])
  func bulkDecimalLengthMatchesDigits(value: Double, decimals: Int) {
    var plain = ResponseWriter()
    plain.append(decimal: value, decimals: decimals)
    let digits = String(decoding: plain.bytes, as: UTF8.self)

    var bulk = ResponseWriter()
    bulk.appendBulk(decimal: value, decimals: decimals)
    #expect(String(decoding: bulk.bytes, as: UTF8.self) == "$\(digits.utf8.count)\r\n\(digits)\r\n")
  }

  @Test func bulkDecimalLengthsMatchOverRandomValues() {
    var generator = SeededGenerator(seed: 11)
    for _ in 0..<2000 {
      let magnitude = [1.0, 10, 1000, 1e6][generator.nextInt(below: 4)]
      let value = (generator.nextUnit() * 2 - 1) * magnitude
      var plain = ResponseWriter()
      plain.append(decimal: value)
      var bulk = ResponseWriter()
      bulk.appendBulk(decimal: value)
      let digits = String(decoding: plain.bytes, as: UTF8.self)
      let expected = "$\(plain.bytes.count)\r\n\(digits)\r\n"
      #expect(String(decoding: bulk.bytes, as: UTF8.self) == expected, "\(value)")
    }
  }

  @Test(arguments: [0, 7, 9, 10, 99, 100, 2_147_483_647])
  func bulkIntegerHasItsLength(value: Int) {
    var writer = ResponseWriter()
    writer.appendBulk(integer: value)
    let digits = String(value)
    #expect(String(decoding: writer.bytes, as: UTF8.self) == "$\(digits.count)\r\n\(digits)\r\n")
  }
}
