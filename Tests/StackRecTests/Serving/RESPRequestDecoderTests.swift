import Testing

@testable import StackRec

@Suite struct RESPRequestDecoderTests {
  /// Small limits so the boundaries are cheap to reach.
  private static func makeDecoder() -> RESPRequestDecoder {
    RESPRequestDecoder(maxArguments: 5, maxLength: 64)
  }

  /// Decodes `bytes` with `decoder`, returning the outcome and the arguments as strings.
  private func decode(_ bytes: [UInt8], with decoder: inout RESPRequestDecoder) -> (
    outcome: RESPRequestDecoder.Outcome, arguments: [String]
  ) {
    bytes.withUnsafeBytes { buffer in
      let outcome = decoder.decode(buffer)
      guard case .request = outcome else { return (outcome, []) }
      let arguments = decoder.arguments.map { range in
        String(decoding: bytes[range], as: UTF8.self)
      }
      return (outcome, arguments)
    }
  }

  private func decode(_ bytes: [UInt8]) -> (
    outcome: RESPRequestDecoder.Outcome, arguments: [String]
  ) {
    var decoder = Self.makeDecoder()
    return decode(bytes, with: &decoder)
  }

  private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

  // MARK: - Complete requests

  static let completeRequests: [(String, [String])] = [
    ("*3\r\n$5\r\nSCORE\r\n$1\r\n1\r\n$2\r\n31\r\n", ["SCORE", "1", "31"]),
    ("*1\r\n$4\r\nPING\r\n", ["PING"]),
    ("*0\r\n", []),
    ("*2\r\n$4\r\nPING\r\n$0\r\n\r\n", ["PING", ""]),
    // Bulk strings are binary-safe: CR, LF, '*' and '$' inside are data.
    ("*2\r\n$4\r\nPING\r\n$6\r\n*1\r\n$\n\r\n", ["PING", "*1\r\n$\n"]),
    ("*1\r\n$3\r\nÉ1\r\n", ["É1"]),
    ("*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n", ["a", "b", "c", "d", "e"]),
  ]

  @Test(arguments: completeRequests)
  func completeRequestIsDecoded(text: String, expected: [String]) {
    let (outcome, arguments) = decode(bytes(text))
    #expect(outcome == .request(length: text.utf8.count))
    #expect(arguments == expected)
  }

  @Test func trailingBytesAreLeft() {
    let request = bytes("*1\r\n$4\r\nPING\r\n")
    let (outcome, arguments) = decode(request + bytes("*1\r\n$4\r\nQU"))
    #expect(outcome == .request(length: request.count))
    #expect(arguments == ["PING"])
  }

  @Test func pipelinedRequestsDecodeInTurn() {
    let first = respRequest(["SCORE", "1", "31"])
    let second = respRequest(["SCORES", "2", "3", "4"])
    let third = respRequest(["PING"])
    var stream = first + second + third
    var decoder = Self.makeDecoder()
    var decoded: [[String]] = []
    while !stream.isEmpty {
      let (outcome, arguments) = decode(stream, with: &decoder)
      guard case .request(let length) = outcome else {
        Issue.record("expected a request, got \(outcome)")
        return
      }
      decoded.append(arguments)
      stream.removeFirst(length)
    }
    #expect(decoded == [["SCORE", "1", "31"], ["SCORES", "2", "3", "4"], ["PING"]])
  }

  @Test func joinedLengthAtLimitIsAccepted() {
    // 5 + 1 + 58 = 64 bytes when joined by a space.
    let long = String(repeating: "7", count: 58)
    let (outcome, arguments) = decode(respRequest(["SCORE", long]))
    #expect(outcome == .request(length: respRequest(["SCORE", long]).count))
    #expect(arguments == ["SCORE", long])
  }

  // MARK: - Partial requests

  @Test(arguments: completeRequests)
  func everyPrefixIsIncomplete(text: String, expected: [String]) {
    let request = bytes(text)
    for length in 1..<request.count {
      var fresh = Self.makeDecoder()
      #expect(decode(Array(request[..<length]), with: &fresh).outcome == .incomplete, "\(length)")
    }
  }

  @Test(arguments: completeRequests)
  func growingPrefixesResumeToRequest(text: String, expected: [String]) {
    // One decoder sees the request grow by one byte per call, as a transport passes it.
    let request = bytes(text)
    var decoder = Self.makeDecoder()
    for length in 1..<request.count {
      #expect(decode(Array(request[..<length]), with: &decoder).outcome == .incomplete)
    }
    let (outcome, arguments) = decode(request, with: &decoder)
    #expect(outcome == .request(length: request.count))
    #expect(arguments == expected)
  }

  @Test func shorterInputAfterLongerStaysIncomplete() {
    // A transport may offer a shorter slice of the same request on a later call.
    let request = respRequest(["SCORES", "10", "20", "30"])
    var decoder = Self.makeDecoder()
    #expect(decode(Array(request[..<25]), with: &decoder).outcome == .incomplete)
    #expect(decode(Array(request[..<6]), with: &decoder).outcome == .incomplete)
    #expect(decode(Array(request[..<30]), with: &decoder).outcome == .incomplete)
    let (outcome, arguments) = decode(request, with: &decoder)
    #expect(outcome == .request(length: request.count))
    #expect(arguments == ["SCORES", "10", "20", "30"])
  }

  @Test func resetForgetsIncompleteRequest() {
    var decoder = Self.makeDecoder()
    let partial = Array(respRequest(["SCORE", "1", "31"])[..<20])
    #expect(decode(partial, with: &decoder).outcome == .incomplete)
    decoder.reset()
    let (outcome, arguments) = decode(respRequest(["PING"]), with: &decoder)
    #expect(outcome == .request(length: respRequest(["PING"]).count))
    #expect(arguments == ["PING"])
  }

  // MARK: - Malformed requests

  /// Malformed requests and the details of their errors. A length's text runs through the
  /// first byte that broke it.
  static let malformedRequests: [(String, String)] = [
    ("*-1\r\n", "invalid array length '-'"),
    ("*x\r\n", "invalid array length 'x'"),
    ("*\r\n", "invalid array length '\\x0D'"),
    ("*+1\r\n", "invalid array length '+'"),
    ("*12 \r\n", "invalid array length '12 '"),
    ("*1\n$4\nPING\n", "invalid array length '1\\x0A'"),
    ("*1\rX", "invalid array length '1\\x0DX'"),
    ("*1234567890123456789\r\n", "invalid array length '1234567890123456789'"),
    ("*6\r\n", "too many arguments (6); requests take at most 5"),
    ("*99\r\n", "too many arguments (99); requests take at most 5"),
    ("*1\r\n+PING\r\n", "expected '$', got '+'"),
    ("*1\r\n:1\r\n", "expected '$', got ':'"),
    ("*2\r\n$4\r\nPING\r\n*1\r\n", "expected '$', got '*'"),
    ("*1\r\n\r\n", "expected '$', got '\\x0D'"),
    ("*1\r\n$-1\r\n", "invalid bulk length '-'"),
    ("*1\r\n$x\r\n", "invalid bulk length 'x'"),
    ("*1\r\n$\r\n", "invalid bulk length '\\x0D'"),
    ("*1\r\n$99999999999999999999\r\n", "invalid bulk length '9999999999999999999'"),
    ("*1\r\n$4\r\nPINGxx", "missing CRLF after a bulk string"),
    ("*1\r\n$4\r\nPING\n\n", "missing CRLF after a bulk string"),
    ("*1\r\n$3\r\nPING\r\n", "missing CRLF after a bulk string"),
    // Over-long bulk strings are rejected from their header, before their bytes arrive.
    ("*1\r\n$65\r\n", "request too long; its arguments, joined by spaces, are limited to 64 bytes"),
    (
      "*2\r\n$5\r\nSCORE\r\n$59\r\n",
      "request too long; its arguments, joined by spaces, are limited to 64 bytes"
    ),
  ]

  @Test(arguments: malformedRequests)
  func malformedRequestIsRejected(text: String, details: String) {
    #expect(decode(bytes(text)).outcome == .malformed(.protocolError(details)))
  }

  @Test(arguments: malformedRequests)
  func malformedRequestGrowingByteByByte(text: String, details: String) {
    // The error, and its text, come as soon as the byte that breaks the format arrives.
    let request = bytes(text)
    var decoder = Self.makeDecoder()
    for length in 1...request.count {
      let outcome = decode(Array(request[..<length]), with: &decoder).outcome
      if outcome != .incomplete {
        #expect(outcome == .malformed(.protocolError(details)))
        return
      }
    }
    Issue.record("no error for \(text.debugDescription)")
  }

  @Test func malformedAfterIncompleteIsRejected() {
    var decoder = Self.makeDecoder()
    #expect(decode(bytes("*2\r\n$4\r\nPI"), with: &decoder).outcome == .incomplete)
    #expect(
      decode(bytes("*2\r\n$4\r\nPING\r\n#"), with: &decoder).outcome
        == .malformed(.protocolError("expected '$', got '#'")))
    // The decoder starts afresh after a malformed request.
    let (outcome, arguments) = decode(respRequest(["PING"]), with: &decoder)
    #expect(outcome == .request(length: respRequest(["PING"]).count))
    #expect(arguments == ["PING"])
  }
}
