/// Encodes replies in RESP, the Redis serialization protocol (version 2), for requests that
/// arrived as RESP arrays.
///
/// Numbers are bulk strings with the same digits as in the text protocol, as Redis's ZSCORE
/// returns them. Every score comes with its fallback reason, which is `none` when the models
/// have ratings for both the user and the item. So a reply's shape never depends on the ids:
///
/// ```
/// SCORE      *2 ["4.0689", "none"]                or  ["3.6810", "unknown-item"]
/// SCORES     *N of SCORE's reply, in request order
/// RECOMMEND  *2 [["318", "4.9012", "858", "4.8101"], "none"]   (item/score pairs)
/// EXPLAIN    *2F ["score", "4.0689", "unclipped", "4.071250", ..., "fallback", "none"]
/// INFO       one bulk string of "key:value" lines ending in CRLF, as Redis's INFO
/// PING       +PONG, or PING's message as a bulk string
/// RELOAD     +OK reloaded users=... (a simple string)
/// QUIT       +OK
/// errors     -ERR <message>
/// ```
///
/// Simple strings, errors and INFO values have their control bytes replaced by spaces, so
/// that they cannot break the framing.
public enum RESPReplyEncoder {
  public static func append(_ reply: Reply, to output: inout [UInt8]) {
    // Capacity 0 allocates nothing: the writer takes over `output`'s buffer.
    var writer = ResponseWriter(capacity: 0)
    swap(&writer.bytes, &output)
    defer { swap(&writer.bytes, &output) }
    switch reply {
    case .score(let value, let fallback):
      writer.appendArrayHeader(count: 2)
      writer.appendBulk(decimal: Double(value))
      writer.appendBulk(fallback.rawValue)

    case .scores(let items):
      writer.appendArrayHeader(count: items.count)
      for item in items {
        writer.appendArrayHeader(count: 2)
        writer.appendBulk(decimal: Double(item.score))
        writer.appendBulk(item.fallback.rawValue)
      }

    case .recommendations(let items, let fallback):
      writer.appendArrayHeader(count: 2)
      writer.appendArrayHeader(count: 2 * items.count)
      for item in items {
        writer.appendBulk(integer: Int(item.item))
        writer.appendBulk(decimal: Double(item.score))
      }
      writer.appendBulk(fallback.rawValue)

    case .explanation(let explanation):
      writer.appendArrayHeader(count: 2 * (4 + 3 * explanation.terms.count))
      writer.appendBulk("score")
      writer.appendBulk(decimal: Double(explanation.result))
      writer.appendBulk("unclipped")
      writer.appendBulk(decimal: explanation.unclipped, decimals: 6)
      writer.appendBulk("intercept")
      writer.appendBulk(decimal: explanation.intercept, decimals: 6)
      for term in explanation.terms {
        writer.appendBulk("\(term.model).score")
        writer.appendBulk(decimal: Double(term.score), decimals: 6)
        writer.appendBulk("\(term.model).weight")
        writer.appendBulk(decimal: term.weight, decimals: 6)
        writer.appendBulk("\(term.model).contribution")
        writer.appendBulk(decimal: term.contribution, decimals: 6)
      }
      writer.appendBulk("fallback")
      writer.appendBulk(explanation.fallback.rawValue)

    case .fields(let fields):
      var text = ""
      for (key, value) in fields {
        text += sanitised(key) + ":" + sanitised(value) + "\r\n"
      }
      writer.appendBulk(text)

    case .status(let text):
      writer.appendSimple(prefix: UInt8(ascii: "+"), sanitising: text)

    case .message(let text):
      writer.appendBulk(text)

    case .list(let strings):
      writer.appendArrayHeader(count: strings.count)
      for string in strings { writer.appendBulk(string) }

    case .closing:
      writer.append("+OK\r\n")

    case .error(let message):
      writer.appendSimple(prefix: UInt8(ascii: "-"), sanitising: "ERR " + message)
    }
  }

  /// Replaces control bytes with spaces.
  private static func sanitised(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
    return String(
      text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
  }
}

extension ResponseWriter {
  /// Appends `*count` and CRLF, the header of an array of `count` elements.
  mutating func appendArrayHeader(count: Int) {
    append(byte: UInt8(ascii: "*"))
    append(integer: count)
    appendCRLF()
  }

  /// Appends `text` as a bulk string: `$`, its length in bytes, CRLF, the bytes, CRLF.
  mutating func appendBulk(_ text: String) {
    append(byte: UInt8(ascii: "$"))
    append(integer: text.utf8.count)
    appendCRLF()
    append(text)
    appendCRLF()
  }

  /// Appends a decimal as `append(decimal:decimals:)` writes it, as a bulk string.
  mutating func appendBulk(decimal value: Double, decimals: Int = 4) {
    let parts = DecimalParts(value, decimals: decimals)
    append(byte: UInt8(ascii: "$"))
    append(integer: parts.count)
    appendCRLF()
    append(parts)
    appendCRLF()
  }

  /// Appends a non-negative integer in decimal as a bulk string.
  mutating func appendBulk(integer value: Int) {
    precondition(value >= 0, "appendBulk(integer:) takes non-negative values, got \(value)")
    var digits = 1
    var rest = value
    while rest >= 10 {
      rest /= 10
      digits += 1
    }
    append(byte: UInt8(ascii: "$"))
    append(integer: digits)
    appendCRLF()
    append(integer: value)
    appendCRLF()
  }

  /// Appends a simple string or an error, `prefix` then `text` then CRLF, with control
  /// bytes in `text` replaced by spaces.
  mutating func appendSimple(prefix: UInt8, sanitising text: String) {
    append(byte: prefix)
    for byte in text.utf8 {
      append(byte: byte < 0x20 || byte == 0x7F ? UInt8(ascii: " ") : byte)
    }
    appendCRLF()
  }
}
