import Foundation
import Testing

@testable import StackRec

/// Seeded random input through `RequestParser.parse` and `BlendSession.process`, checked
/// against an independent reading of the protocol in this file.
///
/// Each text test draws `inputCount` inputs of four kinds. Token soups mix command names,
/// ids, spaces, tabs, CR, LF, NUL, invalid UTF-8 and path-like words. The others are random
/// bytes, very long lines, and well-formed requests with random casing and spacing. The
/// session test also feeds every input in random chunk sizes and then sends `PING`, which
/// must get `PONG`. A RESP test sends a quarter as many RESP arrays, some of them damaged.
///
/// The normal suite runs 250,000 inputs per text test, so that the three tests take about
/// ten seconds. `STACKREC_FUZZ_INPUTS` sets another count and `STACKREC_FUZZ_SEED` another
/// seed, for the long runs that docs/RELIABILITY.md records:
///
/// ```
/// STACKREC_FUZZ_INPUTS=1000000 swift test -c release --filter ProtocolFuzzTests
/// ```
@Suite struct ProtocolFuzzTests {
  static let inputCount: Int = {
    let text = ProcessInfo.processInfo.environment["STACKREC_FUZZ_INPUTS"] ?? ""
    return Int(text) ?? 250_000
  }()

  static let seed: UInt64 = {
    let text = ProcessInfo.processInfo.environment["STACKREC_FUZZ_SEED"] ?? ""
    return UInt64(text) ?? 20_261_204
  }()

  /// Limits small enough that random input crosses every one of them.
  static var limits: Blender.Limits {
    var limits = Blender.Limits()
    limits.maxLineLength = 256
    limits.maxBatch = 5
    limits.maxCount = 4
    limits.defaultCount = 3
    return limits
  }

  // MARK: - Parser

  @Test func parserMatchesOracleOnRandomLines() {
    let limits = Self.limits
    let parser = RequestParser(
      maxCount: limits.maxCount, maxBatch: limits.maxBatch, defaultCount: limits.defaultCount)
    var generator = SeededGenerator(seed: Self.seed)
    var failures: [String] = []
    var verdictCounts = [0, 0, 0]
    var encoded: [UInt8] = []

    for index in 0..<Self.inputCount {
      // The parser receives lines without their line break, as the session passes them.
      let line = InputGenerator.line(&generator).filter { $0 != 0x0A }
      let verdict = LineOracle.classify(line, limits: limits)
      let parsed: Result<Request?, RequestError> = Result { () throws(RequestError) in
        try parser.parse(line)
      }

      switch (verdict, parsed) {
      case (.blank, .success(nil)):
        verdictCounts[0] += 1
      case (.valid(let expected), .success(let request?)) where request == expected:
        verdictCounts[1] += 1
      case (.invalid, .failure(let error)):
        verdictCounts[2] += 1
        // The error text goes into a reply, which must stay one line.
        encoded.removeAll(keepingCapacity: true)
        TextReplyEncoder.append(.error(error.description), to: &encoded)
        if !isOneLine(encoded) {
          failures.append("input \(index): error reply is not one line: \(describe(encoded))")
        }
      default:
        failures.append("input \(index): \(describe(line)) gave \(parsed), expected \(verdict)")
      }
      if failures.count >= 10 { break }
    }

    #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    // Each kind of outcome must be common, or the generator has stopped reaching it.
    for (name, count) in zip(["blank", "valid", "invalid"], verdictCounts) {
      #expect(count >= Self.inputCount / 100, "only \(count) \(name) lines")
    }
  }

  // MARK: - Session

  @Test func sessionRepliesOncePerLineAndRecovers() throws {
    try StoreTestDirectory.with { directory in
      let path = directory.file("store.sqlite")
      _ = try FeatureStoreWriter.write(BlendSessionTests.content(), to: path)
      let limits = Self.limits
      let blender = try Blender(storePath: path, limits: limits, logger: silentLogger)
      let (snapshot, _) = blender.snapshot()
      var generator = SeededGenerator(seed: Self.seed ^ 0x5E55_1011)
      var failures: [String] = []
      var session = BlendSession(blender: blender, allowsAdministration: false)
      var pending: [UInt8] = []
      var output: [UInt8] = []
      var expectedReply: [UInt8] = []

      for index in 0..<Self.inputCount {
        // A request that starts with `*` is RESP, which sessionSurvivesRandomRESP covers.
        var stream = InputGenerator.input(&generator).map { $0 == 0x2A ? 0x23 : $0 }
        stream += stream.last == 0x0A ? Array("PING\n".utf8) : Array("\nPING\n".utf8)
        let lines = LineOracle.lines(of: stream, limits: limits)

        pending.removeAll(keepingCapacity: true)
        output.removeAll(keepingCapacity: true)
        var closed = false
        var offset = 0
        let chunkLimit = generator.nextInt(below: 4) == 0 ? stream.count : 1 + generator.nextInt(below: 64)
        while offset < stream.count && !closed {
          let end = min(stream.count, offset + 1 + generator.nextInt(below: chunkLimit))
          pending += stream[offset..<end]
          offset = end
          let result = pending.withUnsafeBytes { session.process($0, into: &output) }
          pending.removeFirst(result.consumed)
          closed = result.close
          // Progress: a complete line never waits, and an incomplete one never grows
          // past the limit plus the CR that may precede its LF.
          if !closed && (pending.contains(0x0A) || pending.count > limits.maxLineLength + 1) {
            failures.append("input \(index): \(pending.count) bytes left unconsumed")
            break
          }
        }

        let replies = output.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        let quitLine = lines.firstIndex { if case .valid(.quit) = $0 { true } else { false } }
        let answered = lines[...(quitLine ?? lines.count - 1)].filter {
          if case .blank = $0 { false } else { true }
        }
        if output.last != 0x0A || replies.count != answered.count {
          failures.append(
            "input \(index): \(describe(stream)) gave \(replies.count) replies "
              + "\(describe(output)), expected \(answered.count)")
        } else if closed != (quitLine != nil) {
          failures.append("input \(index): \(describe(stream)) closed \(closed)")
        } else {
          for (verdict, reply) in zip(answered, replies) {
            if let problem = check(Array(reply), for: verdict, blender, snapshot, &expectedReply) {
              failures.append("input \(index): \(describe(stream)): \(problem)")
              break
            }
          }
          if !closed && replies.last.map({ Array($0) }) != Array("PONG".utf8) {
            failures.append("input \(index): \(describe(stream)) did not end with PONG")
          }
        }

        // QUIT ends a connection; the next input starts a new one.
        if closed { session = BlendSession(blender: blender, allowsAdministration: false) }
        if failures.count >= 10 { break }
      }
      #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
  }

  @Test func sessionSurvivesRandomRESP() throws {
    try StoreTestDirectory.with { directory in
      let path = directory.file("store.sqlite")
      _ = try FeatureStoreWriter.write(BlendSessionTests.content(), to: path)
      let limits = Self.limits
      let blender = try Blender(storePath: path, limits: limits, logger: silentLogger)
      var generator = SeededGenerator(seed: Self.seed ^ 0x0052_4553_5000)
      var failures: [String] = []
      let ping = Array("*1\r\n$4\r\nPING\r\n".utf8) + Array("PING\n".utf8)
      // An unfinished request contains at most the joined arguments and their length headers.
      let pendingBound = limits.maxLineLength + 32 * (limits.maxBatch + 4)

      for index in 0..<max(1, Self.inputCount / 4) {
        let input = RESPGenerator.input(&generator, limits: limits)
        let stream = input.damaged ? input.bytes : input.bytes + ping
        let session = BlendSession(blender: blender, allowsAdministration: false)
        var pending: [UInt8] = []
        var output: [UInt8] = []
        var closed = false
        var offset = 0
        while offset < stream.count && !closed {
          let end = min(stream.count, offset + 1 + generator.nextInt(below: 64))
          pending += stream[offset..<end]
          offset = end
          let result = pending.withUnsafeBytes { session.process($0, into: &output) }
          pending.removeFirst(result.consumed)
          closed = result.close
          if !closed && pending.count > pendingBound {
            failures.append("input \(index): \(pending.count) bytes left unconsumed")
            break
          }
        }

        var replies = RESPReplies(output)
        let problem: String?
        if input.damaged {
          // Damaged framing may end the session. Its last reply is then the protocol error,
          // or the reply to a QUIT: `+OK` in RESP, `OK bye` in a text line that the damage
          // uncovered.
          let lines = output.split(separator: 0x0A).map { Array($0.filter { $0 != 0x0D }) }
          let last = lines.last ?? []
          let endsWell =
            last.starts(with: Array("-ERR protocol error".utf8)) || last == Array("+OK".utf8)
            || last == Array("OK bye".utf8)
          problem = closed && !endsWell ? "closed after \(describe(last))" : nil
        } else if closed != input.closes {
          problem = "closed \(closed), expected \(input.closes)"
        } else if input.closes {
          let all = replies.all()
          problem = all.count == input.replies ? nil : "\(all.count) replies, expected \(input.replies)"
        } else {
          let all = replies.all()
          problem =
            all.count == input.replies + 1 && all.last == Array("+PONG\r\n".utf8)
              && Array(replies.rest) == Array("PONG\n".utf8)
            ? nil : "\(all.count) replies and \(describe(replies.rest)), expected \(input.replies) and PONG"
        }
        if let problem {
          failures.append("input \(index): \(describe(stream)): \(problem) in \(describe(output))")
        }
        if failures.count >= 10 { break }
      }
      #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
  }

  /// Checks one reply line against the oracle's verdict for its request line.
  ///
  /// - Returns: nil when the reply is right, else what is wrong with it.
  private func check(
    _ reply: [UInt8], for verdict: LineOracle.Verdict, _ blender: Blender,
    _ snapshot: StoreSnapshot, _ expected: inout [UInt8]
  ) -> String? {
    guard !reply.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
      return "control byte in reply \(describe(reply))"
    }
    let isError = reply.starts(with: Array("ERR ".utf8))
    switch verdict {
    case .blank:
      return "a blank line got the reply \(describe(reply))"
    case .invalid:
      return isError ? nil : "an invalid line got \(describe(reply))"
    case .valid(.reload):
      let denial = "ERR \(RequestError.notPermitted(command: "RELOAD"))"
      return reply == Array(denial.utf8) ? nil : "RELOAD got \(describe(reply))"
    case .valid(.info):
      return reply.starts(with: Array("format_version=1 ".utf8)) ? nil : "INFO got \(describe(reply))"
    case .valid(let request):
      // The session must give the reply that the blender gives for the same request.
      expected.removeAll(keepingCapacity: true)
      TextReplyEncoder.append(blender.answer(request, from: snapshot), to: &expected)
      return reply + [0x0A] == expected ? nil : "\(request) got \(describe(reply))"
    }
  }
}

// MARK: - Oracle

/// An independent reading of docs/PROTOCOL.md that maps a line to its request. It parses
/// numbers with the standard library rather than with the parser's own number reader.
enum LineOracle {
  enum Verdict: CustomStringConvertible {
    case blank
    case valid(Request)
    case invalid

    var description: String {
      switch self {
      case .blank: "blank"
      case .valid(let request): "\(request)"
      case .invalid: "an error"
      }
    }
  }

  /// Classifies a line given without its LF; one CR before the LF is already removed.
  static func classify(_ line: [UInt8], limits: Blender.Limits) -> Verdict {
    let words = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map(Array.init)
    guard let first = words.first else { return .blank }
    guard String(validating: line, as: UTF8.self) != nil else { return .invalid }

    // Command names match without regard to ASCII case only.
    let name = String(decoding: first.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
    let arguments = Array(words.dropFirst())
    func id(_ word: [UInt8]) -> Int32? {
      guard let value = Int64(String(decoding: word, as: UTF8.self)),
        (0...Int64(Int32.max)).contains(value)
      else { return nil }
      return Int32(value)
    }
    let ids = arguments.map(id)

    switch (name, arguments.count) {
    case ("SCORE", 2):
      guard let user = ids[0], let item = ids[1] else { return .invalid }
      return .valid(.score(user: user, item: item))
    case ("SCORES", 2...):
      guard arguments.count - 1 <= limits.maxBatch, ids.allSatisfy({ $0 != nil }) else {
        return .invalid
      }
      return .valid(.scores(user: ids[0]!, items: ids.dropFirst().map { $0! }))
    case ("RECOMMEND", 1...2):
      guard let user = ids[0] else { return .invalid }
      guard arguments.count == 2 else { return .valid(.recommend(user: user, count: limits.defaultCount)) }
      guard let count = Int64(String(decoding: arguments[1], as: UTF8.self)),
        (1...Int64(limits.maxCount)).contains(count)
      else { return .invalid }
      return .valid(.recommend(user: user, count: Int(count)))
    case ("EXPLAIN", 2):
      guard let user = ids[0], let item = ids[1] else { return .invalid }
      return .valid(.explain(user: user, item: item))
    case ("INFO", 0): return .valid(.info)
    case ("PING", 0): return .valid(.ping)
    case ("RELOAD", 0): return .valid(.reload)
    case ("QUIT", 0): return .valid(.quit)
    default: return .invalid
    }
  }

  /// Splits a byte stream at LF and classifies each line as the protocol frames it: one CR
  /// before the LF is dropped, and a line over the length limit is invalid. A last part
  /// without an LF is not a line yet and is left out.
  static func lines(of stream: [UInt8], limits: Blender.Limits) -> [Verdict] {
    var verdicts: [Verdict] = []
    var start = 0
    for index in stream.indices where stream[index] == 0x0A {
      var line = Array(stream[start..<index])
      if line.last == 0x0D { line.removeLast() }
      verdicts.append(
        line.count > limits.maxLineLength ? .invalid : classify(line, limits: limits))
      start = index + 1
    }
    return verdicts
  }
}

// MARK: - Generator

/// Random protocol input, drawn from a `SeededGenerator`.
enum InputGenerator {
  static let commands = [
    "SCORE", "SCORES", "RECOMMEND", "EXPLAIN", "INFO", "PING", "RELOAD", "QUIT", "score",
    "Scores", "rEcOmMeNd", "explain", "info", "ping", "reload", "quit", "SCORE\u{0}", "SCOR",
    "SCORESS", "GET", "ſCORE",
  ]
  static let numbers = [
    "0", "1", "10", "20", "30", "40", "99", "100", "200", "300", "400", "500", "999", "-0",
    "+7", "-1", "007", "2147483647", "2147483648", "-2147483648", "9223372036854775807",
    "9223372036854775808", "99999999999999999999", "1.5", "1e3", "0x10", "٣", "",
  ]
  static let others: [[UInt8]] = [
    Array("/etc/passwd".utf8), Array("../../store.sqlite".utf8), Array("$(id)".utf8),
    Array("é".utf8), Array("😀".utf8), [0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80],
    [0xF4, 0x90, 0x80, 0x80], [0x00], [0x0D], [0x7F], [0x1B, 0x5B, 0x32, 0x4A],
  ]

  /// Generates one input: a few lines, or raw bytes.
  static func input(_ generator: inout SeededGenerator) -> [UInt8] {
    switch generator.nextInt(below: 10) {
    case 0, 1:
      return randomBytes(&generator, count: generator.nextInt(below: 200))
    case 2:
      return line(&generator) + [0x0A]
    default:
      var bytes: [UInt8] = []
      for _ in 0...generator.nextInt(below: 3) {
        bytes += line(&generator)
        bytes += generator.nextInt(below: 3) == 0 ? [0x0D, 0x0A] : [0x0A]
      }
      // Sometimes the input ends inside a line.
      if generator.nextInt(below: 5) == 0 { bytes += line(&generator) }
      return bytes
    }
  }

  /// Generates one line without its line break, though it may contain CR, LF and NUL.
  static func line(_ generator: inout SeededGenerator) -> [UInt8] {
    switch generator.nextInt(below: 100) {
    case 0...4:
      return randomBytes(&generator, count: generator.nextInt(below: 80))
    case 5:
      // A long line, sometimes far over the limit.
      let word = [UInt8](repeating: UInt8(ascii: "7"), count: 200 + generator.nextInt(below: 20_000))
      return Array("SCORES 10 ".utf8) + word
    case 6...9:
      return separator(&generator)
    case 10...44:
      return wellFormed(&generator)
    default:
      var bytes: [UInt8] = generator.nextInt(below: 4) == 0 ? separator(&generator) : []
      for position in 0..<generator.nextInt(below: 8) {
        if position > 0 { bytes += separator(&generator) }
        bytes += token(&generator)
      }
      return bytes
    }
  }

  /// Generates a request that the protocol accepts when its values are in range.
  static func wellFormed(_ generator: inout SeededGenerator) -> [UInt8] {
    func pick(_ words: [String]) -> String { words[generator.nextInt(below: words.count)] }
    let user = pick(["10", "20", "30", "40", "99", "0", "2147483647"])
    let item = pick(["100", "200", "300", "400", "500", "999"])
    var words: [String]
    switch generator.nextInt(below: 8) {
    case 0: words = ["SCORE", user, item]
    case 1: words = ["SCORES", user] + (0...generator.nextInt(below: 6)).map { _ in pick(["100", "300", "500", "7"]) }
    case 2: words = ["RECOMMEND", user] + (generator.nextInt(below: 2) == 0 ? [] : [pick(["1", "2", "4", "5", "0"])])
    case 3: words = ["EXPLAIN", user, item]
    case 4: words = ["INFO"]
    case 5: words = ["RELOAD"]
    case 6: words = ["QUIT"]
    default: words = ["PING"]
    }
    // Random ASCII case for the command name.
    words[0] = String(
      words[0].map { generator.nextInt(below: 2) == 0 ? Character($0.lowercased()) : $0 })
    var bytes: [UInt8] = []
    for (position, word) in words.enumerated() {
      if position > 0 { bytes += separator(&generator) }
      bytes += Array(word.utf8)
    }
    return bytes
  }

  static func token(_ generator: inout SeededGenerator) -> [UInt8] {
    switch generator.nextInt(below: 10) {
    case 0...3: return Array(commands[generator.nextInt(below: commands.count)].utf8)
    case 4...7: return Array(numbers[generator.nextInt(below: numbers.count)].utf8)
    default: return others[generator.nextInt(below: others.count)]
    }
  }

  /// Generates a run of spaces and tabs, now and then with a CR, LF or NUL.
  static func separator(_ generator: inout SeededGenerator) -> [UInt8] {
    let choices: [UInt8] = [0x20, 0x20, 0x20, 0x20, 0x09, 0x20, 0x09, 0x0D, 0x00, 0x0A]
    let limit = generator.nextInt(below: 8) == 0 ? choices.count : 7
    return (0...generator.nextInt(below: 3)).map { _ in choices[generator.nextInt(below: limit)] }
  }

  /// Generates bytes weighted towards the ones with a meaning in the protocol.
  static func randomBytes(_ generator: inout SeededGenerator, count: Int) -> [UInt8] {
    let special: [UInt8] = [0x0A, 0x0D, 0x20, 0x09, 0x00, 0xFF, 0x80, 0xC3, 0x31, 0x53]
    return (0..<count).map { _ in
      generator.nextInt(below: 3) == 0
        ? special[generator.nextInt(below: special.count)]
        : UInt8(truncatingIfNeeded: generator.next())
    }
  }
}

// MARK: - RESP

/// Random RESP arrays of bulk strings, as Redis clients send requests, sometimes damaged.
enum RESPGenerator {
  struct Input {
    var bytes: [UInt8]
    /// True when bytes were changed or cut after framing, so the outcome is unknown.
    var damaged: Bool
    /// For undamaged input: the replies expected, and whether the session must end.
    var replies: Int
    var closes: Bool
  }

  /// Generates one to three arrays and predicts the session's replies to them: one per
  /// array, until QUIT or an array over the limits, whose protocol error ends the session.
  static func input(_ generator: inout SeededGenerator, limits: Blender.Limits) -> Input {
    var input = Input(bytes: [], damaged: false, replies: 0, closes: false)
    for _ in 0...generator.nextInt(below: 3) {
      var words: [[UInt8]]
      if generator.nextInt(below: 4) == 0 {
        words = (0...generator.nextInt(below: 9)).map { _ in InputGenerator.token(&generator) }
      } else {
        words = InputGenerator.wellFormed(&generator)
          .split(whereSeparator: { [0x20, 0x09, 0x0D, 0x0A, 0x00].contains($0) }).map(Array.init)
      }
      if words.isEmpty { words = [Array("PING".utf8)] }
      input.bytes += Array("*\(words.count)\r\n".utf8)
      for word in words {
        input.bytes += Array("$\(word.count)\r\n".utf8) + word + [0x0D, 0x0A]
      }
      if input.closes { continue }
      input.replies += 1
      let joined = words.reduce(-1) { $0 + $1.count + 1 }
      let isQuit = words.count == 1 && String(decoding: words[0], as: UTF8.self).uppercased() == "QUIT"
      if words.count > limits.maxBatch + 2 || joined > limits.maxLineLength || isQuit {
        input.closes = true
      }
    }

    // Damage: cut the input, change a byte, or follow it with a broken header.
    switch generator.nextInt(below: 10) {
    case 0:
      input.bytes = Array(input.bytes.prefix(generator.nextInt(below: input.bytes.count)))
      input.damaged = true
    case 1:
      input.bytes[generator.nextInt(below: input.bytes.count)] = UInt8(truncatingIfNeeded: generator.next())
      input.damaged = true
    case 2:
      input.bytes += [UInt8(ascii: "*")] + InputGenerator.randomBytes(&generator, count: 1 + generator.nextInt(below: 40))
      input.damaged = true
    default:
      break
    }
    return input
  }
}

/// Splits RESP replies: simple strings, errors, integers, bulk strings and arrays of them.
struct RESPReplies {
  private let bytes: [UInt8]
  private var position = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  /// The bytes after the last whole reply that `all()` found.
  var rest: ArraySlice<UInt8> { bytes[position...] }

  /// Returns every whole reply from the current position, each with its CRLFs.
  mutating func all() -> [[UInt8]] {
    var replies: [[UInt8]] = []
    while let end = replyEnd(from: position) {
      replies.append(Array(bytes[position..<end]))
      position = end
    }
    return replies
  }

  /// Returns the offset just past the reply that starts at `start`, or nil.
  private func replyEnd(from start: Int) -> Int? {
    guard start < bytes.count, let lineEnd = crlf(from: start) else { return nil }
    let header = String(decoding: bytes[(start + 1)..<lineEnd], as: UTF8.self)
    switch bytes[start] {
    case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
      return lineEnd + 2
    case UInt8(ascii: "$"):
      guard let length = Int(header) else { return nil }
      if length < 0 { return lineEnd + 2 }
      let end = lineEnd + 2 + length + 2
      return end <= bytes.count ? end : nil
    case UInt8(ascii: "*"):
      guard let count = Int(header) else { return nil }
      var end = lineEnd + 2
      for _ in 0..<max(count, 0) {
        guard let next = replyEnd(from: end) else { return nil }
        end = next
      }
      return end
    default:
      return nil
    }
  }

  private func crlf(from start: Int) -> Int? {
    var index = start
    while index + 1 < bytes.count {
      if bytes[index] == 0x0D && bytes[index + 1] == 0x0A { return index }
      index += 1
    }
    return nil
  }
}

// MARK: - Helpers

/// True when `bytes` is one reply line: it ends with LF and has no other control byte.
private func isOneLine(_ bytes: [UInt8]) -> Bool {
  bytes.last == 0x0A && !bytes.dropLast().contains { $0 < 0x20 || $0 == 0x7F }
}

/// Renders bytes as short, printable text for failure messages.
private func describe<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
  var text = ""
  for byte in bytes.prefix(120) {
    if byte >= 0x20 && byte < 0x7F {
      text.unicodeScalars.append(Unicode.Scalar(byte))
    } else {
      text += "\\x" + String(byte, radix: 16)
    }
  }
  return "'" + text + (bytes.count > 120 ? "...' (\(bytes.count) bytes)" : "'")
}
