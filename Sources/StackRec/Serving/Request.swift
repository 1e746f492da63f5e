/// One request of the blender's protocol, parsed from a text line or a RESP array.
///
/// User and item ids are MovieLens ids as they appear in the input files.
public enum Request: Sendable, Equatable {
  case score(user: Int32, item: Int32)
  case scores(user: Int32, items: [Int32])
  case recommend(user: Int32, count: Int)
  case explain(user: Int32, item: Int32)
  case info
  case ping
  /// PING with a message, accepted in RESP only; the reply is the message, as in Redis.
  case echo(String)
  case reload
  case quit
  /// COMMAND or COMMAND DOCS, accepted in RESP only; `redis-cli` sends them on connecting.
  case commandDocs
  /// CONFIG GET with its parameter names, accepted in RESP only; `redis-benchmark` reads
  /// `save` and `appendonly` before a run.
  case configGet([String])

  /// True for commands that change the server's state.
  public var isAdministrative: Bool {
    self == .reload
  }
}

/// Why a request was rejected. The description is the text after `ERR ` in the reply: a
/// stable lowercase phrase, then details.
public enum RequestError: Error, Equatable, CustomStringConvertible {
  case unknownCommand(String)
  case unknownSubcommand(command: String, name: String, usage: String)
  case wrongArity(command: String, usage: String)
  case invalidID(String)
  case invalidCount(String, maximum: Int)
  case tooManyItems(maximum: Int)
  case lineTooLong(maximum: Int)
  case invalidUTF8
  case notPermitted(command: String)
  /// Bytes that break RESP framing, with the details. The connection closes after the
  /// reply, because the start of the next request can no longer be found.
  case protocolError(String)

  public var description: String {
    switch self {
    case .unknownCommand(let name):
      return
        "unknown command '\(excerpt(name, limit: 32))'; commands are "
        + RequestParser.listedCommandNames.joined(separator: ", ")
    case .unknownSubcommand(let command, let name, let usage):
      return "unknown subcommand '\(excerpt(name, limit: 32))' for \(command); usage: \(usage)"
    case .wrongArity(let command, let usage):
      return "wrong number of arguments for \(command); usage: \(usage)"
    case .invalidID(let text):
      return "invalid id '\(excerpt(text, limit: 32))'; ids are integers from 0 to \(Int32.max)"
    case .invalidCount(let text, let maximum):
      return "invalid count '\(excerpt(text, limit: 32))'; k is an integer from 1 to \(maximum)"
    case .tooManyItems(let maximum):
      return "too many items; SCORES takes at most \(maximum) items per request"
    case .lineTooLong(let maximum):
      return "line too long; requests are limited to \(maximum) bytes"
    case .invalidUTF8:
      return "invalid UTF-8 in request"
    case .notPermitted(let command):
      return "not permitted: \(command) is disabled for this client"
    case .protocolError(let details):
      return "protocol error: \(details)"
    }
  }
}
