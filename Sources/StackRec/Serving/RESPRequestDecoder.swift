/// Finds one request in the RESP format, an array of bulk strings, at the front of a byte
/// stream, as Redis clients send requests:
///
/// ```
/// *3\r\n$5\r\nSCORE\r\n$1\r\n1\r\n$2\r\n31\r\n      SCORE 1 31
/// ```
///
/// The decoder only finds boundaries: it records where each bulk string lies, and
/// `RequestParser` gives the strings meaning. A request may arrive in pieces. When the input
/// ends inside a request, `decode` returns `.incomplete` and remembers how far it got. The
/// next call must pass the same request again from its first byte. It goes on from the first
/// unfinished element, so the work per call does not grow with the bytes already read. That
/// call may also pass fewer bytes than before, as a transport that offers input in slices
/// does.
///
/// Limits keep the unconsumed input small: an array may have at most `maxArguments`
/// elements, and its bulk strings, joined by single spaces as a text line would carry
/// them, at most `maxLength` bytes. Framing is lost after a malformed request, so the
/// caller should reply once and close the connection, as Redis does.
struct RESPRequestDecoder {
  enum Outcome: Equatable {
    /// A whole request of `length` bytes, whose bulk strings are at `arguments`. An empty
    /// array, `*0`, is a request without arguments.
    case request(length: Int)
    /// The input ends inside the request.
    case incomplete
    /// The bytes break the format or the limits.
    case malformed(RequestError)
  }

  /// The maximum number of elements in an array.
  let maxArguments: Int
  /// The maximum length in bytes of the arguments, joined by single spaces.
  let maxLength: Int

  /// The ranges of the bulk strings of the last request found, relative to its first
  /// byte. Reused from request to request, so decoding allocates nothing once it has grown.
  private(set) var arguments: [Range<Int>] = []

  /// How far the decoder got into an incomplete request.
  private struct Progress {
    /// The element count from the array header.
    var count: Int
    /// The offset of the first element not yet in `arguments`.
    var offset: Int
    /// The length of the arguments found so far, joined by single spaces.
    var joinedLength: Int
  }

  private var progress: Progress?

  /// The maximum number of digits in a length. 18 digits cannot overflow `Int`.
  private static let maxLengthDigits = 18

  init(maxArguments: Int, maxLength: Int) {
    self.maxArguments = maxArguments
    self.maxLength = maxLength
  }

  /// Decodes the request at the front of `input`, whose first byte is `*`.
  mutating func decode(_ input: UnsafeRawBufferPointer) -> Outcome {
    precondition(input.first == UInt8(ascii: "*"), "a RESP request starts with '*'")
    var state: Progress
    if let saved = progress {
      state = saved
    } else {
      arguments.removeAll(keepingCapacity: true)
      // An incomplete header is read again on the next call; it is at most 21 bytes.
      switch Self.length(in: input, at: 0) {
      case .incomplete:
        return .incomplete
      case .invalid(let text):
        return .malformed(.protocolError("invalid array length '\(text)'"))
      case .value(let count, let next):
        guard count <= maxArguments else {
          return .malformed(
            .protocolError("too many arguments (\(count)); requests take at most \(maxArguments)"))
        }
        state = Progress(count: count, offset: next, joinedLength: 0)
      }
    }

    while arguments.count < state.count {
      guard state.offset < input.count else { return suspend(state) }
      let marker = input[state.offset]
      guard marker == UInt8(ascii: "$") else {
        progress = nil
        return .malformed(.protocolError("expected '$', got '\(Self.describe(marker))'"))
      }
      let header = Self.length(in: input, at: state.offset)
      guard case .value(let length, let start) = header else {
        if case .invalid(let text) = header {
          progress = nil
          return .malformed(.protocolError("invalid bulk length '\(text)'"))
        }
        return suspend(state)
      }
      let joinedLength = state.joinedLength + (arguments.isEmpty ? 0 : 1) + length
      guard joinedLength <= maxLength else {
        progress = nil
        return .malformed(
          .protocolError(
            "request too long; its arguments, joined by spaces, are limited to \(maxLength) bytes"
          ))
      }
      let end = start + length
      guard end + 2 <= input.count else { return suspend(state) }
      guard input[end] == 0x0D && input[end + 1] == 0x0A else {
        progress = nil
        return .malformed(.protocolError("missing CRLF after a bulk string"))
      }
      arguments.append(start..<end)
      state.offset = end + 2
      state.joinedLength = joinedLength
    }
    progress = nil
    return .request(length: state.offset)
  }

  /// Forgets a request left incomplete, for a caller that drops its input.
  mutating func reset() {
    progress = nil
    arguments.removeAll(keepingCapacity: true)
  }

  private mutating func suspend(_ state: Progress) -> Outcome {
    progress = state
    return .incomplete
  }

  private enum Length {
    /// The length and the offset after its CRLF.
    case value(Int, next: Int)
    case incomplete
    /// A malformed length, as the text from after the marker through the first byte that
    /// broke it, so that the text does not depend on how the input was split.
    case invalid(String)
  }

  /// Reads the length after the marker byte at `offset`: 1 to 18 decimal digits, then CRLF.
  private static func length(in input: UnsafeRawBufferPointer, at offset: Int) -> Length {
    let start = offset + 1
    var index = start
    var value = 0
    while index < input.count {
      let byte = input[index]
      if byte == 0x0D && index > start {
        guard index + 1 < input.count else { return .incomplete }
        guard input[index + 1] == 0x0A else { return .invalid(text(input, start...index + 1)) }
        return .value(value, next: index + 2)
      }
      let digit = byte &- UInt8(ascii: "0")
      guard digit < 10, index - start < maxLengthDigits else {
        return .invalid(text(input, start...index))
      }
      value = value * 10 + Int(digit)
      index += 1
    }
    return .incomplete
  }

  /// Returns the bytes at `range` for an error reply, with bytes outside printable ASCII
  /// written as `\xHH`.
  private static func text(_ input: UnsafeRawBufferPointer, _ range: ClosedRange<Int>) -> String {
    range.map { describe(input[$0]) }.joined()
  }

  /// Returns a byte as a printable character, or as `\xHH`.
  private static func describe(_ byte: UInt8) -> String {
    if byte >= 0x20 && byte < 0x7F { return String(UnicodeScalar(byte)) }
    let hex = String(byte, radix: 16, uppercase: true)
    return "\\x" + (hex.count == 1 ? "0" + hex : hex)
  }
}
