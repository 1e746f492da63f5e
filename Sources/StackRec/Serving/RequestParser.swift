/// Parses one request line of the blender's text protocol.
///
/// A line is words separated by spaces or tabs; the first word is the
/// command, matched without regard to case. One table of command names,
/// argument counts and usage texts drives both parsing and the error
/// replies. The parser works on the line's bytes and allocates only for
/// SCORES' item list.
public struct RequestParser: Sendable {
  /// A command's name, its argument count range, and its usage text.
  public struct Command: Sendable {
    public var name: String
    public var arguments: ClosedRange<Int>
    public var usage: String
  }

  public static let commands: [Command] = [
    Command(name: "SCORE", arguments: 2...2, usage: "SCORE user item"),
    Command(name: "SCORES", arguments: 2...Int.max, usage: "SCORES user item [item ...]"),
    Command(name: "RECOMMEND", arguments: 1...2, usage: "RECOMMEND user [k]"),
    Command(name: "EXPLAIN", arguments: 2...2, usage: "EXPLAIN user item"),
    Command(name: "INFO", arguments: 0...0, usage: "INFO"),
    Command(name: "PING", arguments: 0...0, usage: "PING"),
    Command(name: "RELOAD", arguments: 0...0, usage: "RELOAD"),
    Command(name: "QUIT", arguments: 0...0, usage: "QUIT"),
  ]

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

  /// Parses a line without its line break.
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
    guard let first = words.first else { return nil }
    guard isASCII(line) || String(validating: line, as: UTF8.self) != nil else {
      throw .invalidUTF8
    }

    let name = text(line, first)
    guard let command = Self.commands.first(where: { matches(line, first, $0.name) }) else {
      throw .unknownCommand(name)
    }
    let arguments = Array(words.dropFirst())
    guard command.arguments.contains(arguments.count) else {
      throw .wrongArity(command: command.name, usage: command.usage)
    }

    switch command.name {
    case "SCORE":
      return .score(user: try id(line, arguments[0]), item: try id(line, arguments[1]))
    case "SCORES":
      guard arguments.count - 1 <= maxBatch else { throw .tooManyItems(maximum: maxBatch) }
      var items: [Int32] = []
      items.reserveCapacity(arguments.count - 1)
      for argument in arguments.dropFirst() { items.append(try id(line, argument)) }
      return .scores(user: try id(line, arguments[0]), items: items)
    case "RECOMMEND":
      var count = defaultCount
      if arguments.count == 2 {
        guard case .value(let value) = NumberParsing.integer(bytes(line, arguments[1])),
          value >= 1 && value <= Int64(maxCount)
        else {
          throw .invalidCount(text(line, arguments[1]), maximum: maxCount)
        }
        count = Int(value)
      }
      return .recommend(user: try id(line, arguments[0]), count: count)
    case "EXPLAIN":
      return .explain(user: try id(line, arguments[0]), item: try id(line, arguments[1]))
    case "INFO": return .info
    case "PING": return .ping
    case "RELOAD": return .reload
    default: return .quit
    }
  }

  /// Parses a line given as bytes.
  public func parse(_ line: [UInt8]) throws(RequestError) -> Request? {
    do {
      return try line.withUnsafeBytes { buffer in try parse(buffer) }
    } catch let error as RequestError {
      throw error
    } catch {
      preconditionFailure("parse throws only RequestError")
    }
  }

  // MARK: - Words

  @inline(__always)
  private func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09
  }

  private func isASCII(_ line: UnsafeRawBufferPointer) -> Bool {
    for byte in line where byte >= 0x80 { return false }
    return true
  }

  private func bytes(_ line: UnsafeRawBufferPointer, _ word: Range<Int>) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(rebasing: line.assumingMemoryBound(to: UInt8.self)[word])
  }

  private func text(_ line: UnsafeRawBufferPointer, _ word: Range<Int>) -> String {
    String(decoding: UnsafeRawBufferPointer(rebasing: line[word]), as: UTF8.self)
  }

  /// True when the word equals `name`, ignoring ASCII case.
  private func matches(_ line: UnsafeRawBufferPointer, _ word: Range<Int>, _ name: String) -> Bool {
    guard word.count == name.utf8.count else { return false }
    for (offset, expected) in name.utf8.enumerated() {
      let byte = line[word.lowerBound + offset]
      let upper = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
      if upper != expected { return false }
    }
    return true
  }

  private func id(_ line: UnsafeRawBufferPointer, _ word: Range<Int>) throws(RequestError) -> Int32 {
    guard case .value(let value) = NumberParsing.integer(bytes(line, word)),
      value >= 0 && value <= Int64(Int32.max)
    else {
      throw .invalidID(text(line, word))
    }
    return Int32(value)
  }
}
