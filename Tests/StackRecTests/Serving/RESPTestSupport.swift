/// A RESP value written out by hand in the tests, independently of `RESPReplyEncoder`.
indirect enum RESPValue: Equatable, CustomStringConvertible {
  case simple(String)
  case error(String)
  case bulk(String)
  case array([RESPValue])

  /// The value's bytes on the wire, as a string.
  var encoded: String {
    switch self {
    case .simple(let text): return "+\(text)\r\n"
    case .error(let text): return "-\(text)\r\n"
    case .bulk(let text): return "$\(text.utf8.count)\r\n\(text)\r\n"
    case .array(let elements): return "*\(elements.count)\r\n" + elements.map(\.encoded).joined()
    }
  }

  var description: String { encoded.debugDescription }

  /// An array of bulk strings.
  static func bulks(_ strings: [String]) -> RESPValue {
    .array(strings.map { .bulk($0) })
  }
}

/// Encodes a request as Redis clients send it: an array of bulk strings.
func respRequest(_ arguments: [String]) -> [UInt8] {
  Array(RESPValue.bulks(arguments).encoded.utf8)
}

/// Encodes a request given as one string of space-separated words.
func respRequest(_ words: String) -> [UInt8] {
  respRequest(words.split(separator: " ").map(String.init))
}
