/// Parses requests of the blender's protocol, from text lines or from the arguments of a
/// RESP array.
///
/// A text line is words separated by spaces or tabs; a RESP request is an array of bulk
/// strings, decoded by `RESPRequestDecoder`. Either way the first word is the command,
/// matched without regard to case. One table of command names, argument counts and usage
/// texts drives both parsing and the error replies. The parser works on the request's
/// bytes and allocates only for SCORES' item list, a PING message and CONFIG GET's names.
public struct RequestParser: Sendable {
  /// The wire format of a request.
  public enum Format: Sendable, Equatable {
    /// A line of words, ending with LF.
    case text
    /// A RESP array of bulk strings, as Redis clients send.
    case resp
  }

  /// A command's name, its argument count range, its usage text, and the formats that
  /// accept it.
  public struct Command: Sendable {
    public var name: String
    public var arguments: ClosedRange<Int>
    public var usage: String
    public var formats: [Format]

    public init(
      name: String, arguments: ClosedRange<Int>, usage: String, formats: [Format] = [.text, .resp]
    ) {
      self.name = name
      self.arguments = arguments
      self.usage = usage
      self.formats = formats
    }
  }

  /// The commands. A name may have one row per format where the formats differ: PING takes a
  /// message only in RESP, as in Redis, and COMMAND and CONFIG exist only so that Redis
  /// tools work.
  public static let commands: [Command] = [
    Command(name: "SCORE", arguments: 2...2, usage: "SCORE user item"),
    Command(name: "SCORES", arguments: 2...Int.max, usage: "SCORES user item [item ...]"),
    Command(name: "RECOMMEND", arguments: 1...2, usage: "RECOMMEND user [k]"),
    Command(name: "EXPLAIN", arguments: 2...2, usage: "EXPLAIN user item"),
    Command(name: "INFO", arguments: 0...0, usage: "INFO"),
    Command(name: "PING", arguments: 0...0, usage: "PING", formats: [.text]),
    Command(name: "PING", arguments: 0...1, usage: "PING [message]", formats: [.resp]),
    Command(name: "RELOAD", arguments: 0...0, usage: "RELOAD"),
    Command(name: "QUIT", arguments: 0...0, usage: "QUIT"),
    Command(
      name: "COMMAND", arguments: 0...Int.max, usage: "COMMAND [DOCS [command ...]]",
      formats: [.resp]),
    Command(
      name: "CONFIG", arguments: 2...Int.max, usage: "CONFIG GET parameter [parameter ...]",
      formats: [.resp]),
  ]

  /// The names that the unknown-command error lists: the commands of the text protocol.
  /// The RESP-only commands serve Redis tools and are left out.
  public static let listedCommandNames: [String] = {
    var names: [String] = []
    for command in commands where command.formats.contains(.text) && !names.contains(command.name) {
      names.append(command.name)
    }
    return names
  }()

  /// The largest k that RECOMMEND accepts.
  public var maxCount: Int
  /// The most items SCORES accepts.
  public var maxBatch: Int
  /// The k RECOMMEND uses when none is given.
  public var defaultCount: Int

  public init(maxCount: Int = 1000, maxBatch: Int = 1000, defaultCount: Int = 10) {
    self.maxCount = maxCount
    self.maxBatch = maxBatch
    self.defaultCount = defaultCount
  }

  /// The maximum number of arguments, the command name included, that a request can need:
  /// SCORES with a user and `maxBatch` items. Longer RESP arrays are rejected unread.
  public var maxArguments: Int { maxBatch + 2 }

  /// Parses a text line without its line break.
  ///
  /// - Returns: nil for a blank line, which is not a request and gets no reply.
  public func parse(_ line: UnsafeRawBufferPointer) throws(RequestError) -> Request? {
    var words: [Range<Int>] = []
    var index = 0
    while index < line.count {
      while index < line.count && isSpace(line[index]) { index += 1 }
      let start = index
      while index < line.count && !isSpace(line[index]) { index += 1 }
      if start < index { words.append(start..<index) }
    }
    return try parse(words: words, in: line, format: .text)
  }

  /// Parses a text line given as bytes.
  public func parse(_ line: [UInt8]) throws(RequestError) -> Request? {
    do {
      return try line.withUnsafeBytes { buffer in try parse(buffer) }
    } catch let error as RequestError {
      throw error
    } catch {
      preconditionFailure("parse throws only RequestError")
    }
  }

  /// Parses a request whose words, the command name first, are the ranges `words` of
  /// `buffer`. For RESP the words are the bulk strings that `RESPRequestDecoder` found.
  ///
  /// - Returns: nil when `words` is empty, which is not a request and gets no reply.
  public func parse(words: [Range<Int>], in buffer: UnsafeRawBufferPointer, format: Format)
    throws(RequestError) -> Request?
  {
    guard let first = words.first else { return nil }
    for word in words {
      let bytes = UnsafeRawBufferPointer(rebasing: buffer[word])
      guard isASCII(bytes) || String(validating: bytes, as: UTF8.self) != nil else {
        throw .invalidUTF8
      }
    }
    guard
      let command = Self.commands.first(where: {
        matches(buffer, first, $0.name) && $0.formats.contains(format)
      })
    else {
      throw .unknownCommand(text(buffer, first))
    }
    let count = words.count - 1
    guard command.arguments.contains(count) else {
      throw .wrongArity(command: command.name, usage: command.usage)
    }
    // The arguments are words[1...].
    func argument(_ position: Int) -> Range<Int> { words[position + 1] }

    switch command.name {
    case "SCORE":
      return .score(user: try id(buffer, argument(0)), item: try id(buffer, argument(1)))
    case "SCORES":
      guard count - 1 <= maxBatch else { throw .tooManyItems(maximum: maxBatch) }
      var items: [Int32] = []
      items.reserveCapacity(count - 1)
      for position in 1..<count { items.append(try id(buffer, argument(position))) }
      return .scores(user: try id(buffer, argument(0)), items: items)
    case "RECOMMEND":
      var k = defaultCount
      if count == 2 {
        guard case .value(let value) = NumberParsing.integer(bytes(buffer, argument(1))),
          value >= 1 && value <= Int64(maxCount)
        else {
          throw .invalidCount(text(buffer, argument(1)), maximum: maxCount)
        }
        k = Int(value)
      }
      return .recommend(user: try id(buffer, argument(0)), count: k)
    case "EXPLAIN":
      return .explain(user: try id(buffer, argument(0)), item: try id(buffer, argument(1)))
    case "INFO": return .info
    case "PING": return count == 0 ? .ping : .echo(text(buffer, argument(0)))
    case "RELOAD": return .reload
    case "QUIT": return .quit
    case "COMMAND":
      guard count == 0 || matches(buffer, argument(0), "DOCS") else {
        throw .unknownSubcommand(
          command: command.name, name: text(buffer, argument(0)), usage: command.usage)
      }
      return .commandDocs
    default:
      guard matches(buffer, argument(0), "GET") else {
        throw .unknownSubcommand(
          command: command.name, name: text(buffer, argument(0)), usage: command.usage)
      }
      return .configGet((1..<count).map { text(buffer, argument($0)) })
    }
  }

  // MARK: - Words

  @inline(__always)
  private func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09
  }

  private func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
    for byte in bytes where byte >= 0x80 { return false }
    return true
  }

  private func bytes(_ buffer: UnsafeRawBufferPointer, _ word: Range<Int>)
    -> UnsafeBufferPointer<UInt8>
  {
    UnsafeBufferPointer(rebasing: buffer.assumingMemoryBound(to: UInt8.self)[word])
  }

  private func text(_ buffer: UnsafeRawBufferPointer, _ word: Range<Int>) -> String {
    String(decoding: UnsafeRawBufferPointer(rebasing: buffer[word]), as: UTF8.self)
  }

  /// True when the word equals `name`, ignoring ASCII case.
  private func matches(_ buffer: UnsafeRawBufferPointer, _ word: Range<Int>, _ name: String)
    -> Bool
  {
    // withUTF8 reads the name's bytes in place; iterating `utf8` would take the generic
    // sequence path on every request.
    var name = name
    return name.withUTF8 { expected in
      guard word.count == expected.count else { return false }
      for offset in 0..<expected.count {
        let byte = buffer[word.lowerBound + offset]
        let upper = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
        if upper != expected[offset] { return false }
      }
      return true
    }
  }

  private func id(_ buffer: UnsafeRawBufferPointer, _ word: Range<Int>) throws(RequestError)
    -> Int32
  {
    guard case .value(let value) = NumberParsing.integer(bytes(buffer, word)),
      value >= 0 && value <= Int64(Int32.max)
    else {
      throw .invalidID(text(buffer, word))
    }
    return Int32(value)
  }
}
