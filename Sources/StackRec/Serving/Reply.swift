/// The answer to one request, before it is encoded for the wire.
///
/// `TextReplyEncoder` writes each reply as one line; `RESPReplyEncoder` writes the same
/// replies as Redis types.
public enum Reply: Sendable, Equatable {
  /// A blended score, clipped to the rating scale.
  case score(Float, Fallback)
  /// One score per requested item, in request order.
  case scores([ScoredItem])
  /// The best items, best first, and whether the user was unknown.
  case recommendations([ScoredItem], Fallback)
  case explanation(Explanation)
  /// Ordered `key=value` fields.
  case fields([(String, String)])
  /// A short status word or sentence, such as `PONG`.
  case status(String)
  /// Text from the client sent back as it came, such as PING's message.
  case message(String)
  /// A list of strings, such as CONFIG GET's names and values.
  case list([String])
  /// The reply to QUIT, after which the connection closes.
  case closing
  /// An error message, written after `ERR `.
  case error(String)

  public static func == (lhs: Reply, rhs: Reply) -> Bool {
    var left: [UInt8] = []
    var right: [UInt8] = []
    TextReplyEncoder.append(lhs, to: &left)
    TextReplyEncoder.append(rhs, to: &right)
    return left == right
  }
}

/// An item id with its blended score.
public struct ScoredItem: Sendable, Equatable {
  public var item: Int32
  public var score: Float
  public var fallback: Fallback
}

/// How a blended score is made up.
public struct Explanation: Sendable, Equatable {
  public struct Term: Sendable, Equatable {
    public var model: String
    public var score: Float
    public var weight: Double
    public var contribution: Double { weight * Double(score) }
  }

  public var terms: [Term]
  public var intercept: Double
  public var unclipped: Double
  public var result: Float
  public var fallback: Fallback
}

/// Encodes replies as single text lines.
///
/// ```
/// SCORE      3.8123                 or  3.5000 fallback=unknown-item
/// SCORES     3.8123 4.0010 3.5000/unknown-item
/// RECOMMEND  318:4.9012 858:4.8101  (or 'none'), then ' fallback=unknown-user' if so
/// EXPLAIN    score=3.8123 unclipped=3.8456 intercept=-0.2813 bias.score=...
/// QUIT       OK bye
/// errors     ERR <message>
/// ```
///
/// Control bytes in a message or a list become spaces, so the reply stays one line.
public enum TextReplyEncoder {
  public static func append(_ reply: Reply, to output: inout [UInt8]) {
    var writer = ResponseWriter()
    swap(&writer.bytes, &output)
    defer { swap(&writer.bytes, &output) }
    switch reply {
    case .score(let value, let fallback):
      writer.append(decimal: Double(value))
      if fallback != .none {
        writer.append(" fallback=")
        writer.append(fallback.rawValue)
      }
      writer.append(byte: 0x0A)

    case .scores(let items):
      for (position, item) in items.enumerated() {
        if position > 0 { writer.append(byte: 0x20) }
        writer.append(decimal: Double(item.score))
        if item.fallback != .none {
          writer.append(byte: UInt8(ascii: "/"))
          writer.append(item.fallback.rawValue)
        }
      }
      writer.append(byte: 0x0A)

    case .recommendations(let items, let fallback):
      if items.isEmpty { writer.append("none") }
      for (position, item) in items.enumerated() {
        if position > 0 { writer.append(byte: 0x20) }
        writer.append(integer: Int(item.item))
        writer.append(byte: UInt8(ascii: ":"))
        writer.append(decimal: Double(item.score))
      }
      if fallback != .none {
        writer.append(" fallback=")
        writer.append(fallback.rawValue)
      }
      writer.append(byte: 0x0A)

    case .explanation(let explanation):
      writer.append("score=")
      writer.append(decimal: Double(explanation.result))
      writer.append(" unclipped=")
      writer.append(decimal: explanation.unclipped, decimals: 6)
      writer.append(" intercept=")
      writer.append(decimal: explanation.intercept, decimals: 6)
      for term in explanation.terms {
        writer.append(" \(term.model).score=")
        writer.append(decimal: Double(term.score), decimals: 6)
        writer.append(" \(term.model).weight=")
        writer.append(decimal: term.weight, decimals: 6)
        writer.append(" \(term.model).contribution=")
        writer.append(decimal: term.contribution, decimals: 6)
      }
      writer.append(" fallback=")
      writer.append(explanation.fallback.rawValue)
      writer.append(byte: 0x0A)

    case .fields(let fields):
      writer.appendLine(sanitising: fields.map { "\($0)=\($1)" }.joined(separator: " "))

    case .status(let text), .message(let text):
      writer.appendLine(sanitising: text)

    case .list(let strings):
      writer.appendLine(sanitising: strings.joined(separator: " "))

    case .closing:
      writer.append("OK bye\n")

    case .error(let message):
      writer.appendLine(sanitising: "ERR " + message)
    }
  }
}
