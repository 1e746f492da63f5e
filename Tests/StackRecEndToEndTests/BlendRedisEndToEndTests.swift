import Foundation
import Glibc
import StackRec
import Testing

/// The Redis command-line tools, found in PATH; nil where one is not installed.
enum RedisTools {
  static let cli = executable("redis-cli")
  static let benchmark = executable("redis-benchmark")

  /// Returns the full path of `name` in a directory of PATH, or nil when there is none.
  static func executable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}

/// Drives the built `stackrec-blend --listen 127.0.0.1:0` with the real `redis-cli` and
/// `redis-benchmark`, which speak RESP, and checks their output against the store.
@Suite(.serialized, .enabled(if: RedisTools.cli != nil, "redis-cli is not installed"))
struct BlendRedisEndToEndTests {
  static let commandList = "SCORE, SCORES, RECOMMEND, EXPLAIN, INFO, PING, RELOAD, QUIT"

  // MARK: - Running the clients

  /// The result of one run of a client.
  struct RunResult {
    var status: Int32
    var output: String
    var errorOutput: String
  }

  /// Runs `path` with `arguments`, with `input` as standard input, and waits at most
  /// 120 s. Output goes through files in `directory`, so a large output cannot stall it.
  static func run(
    _ path: String, _ arguments: [String], input: String = "", directory: String
  ) throws -> RunResult {
    let name = UUID().uuidString
    let inputPath = "\(directory)/\(name).stdin"
    let outputPath = "\(directory)/\(name).stdout"
    let errorPath = "\(directory)/\(name).stderr"
    try input.write(toFile: inputPath, atomically: true, encoding: .utf8)
    for path in [outputPath, errorPath] {
      try #require(FileManager.default.createFile(atPath: path, contents: nil))
    }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let errorOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    process.standardOutput = output
    process.standardError = errorOutput
    try process.run()
    let deadline = Date().addingTimeInterval(120)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      Issue.record("\(path) \(arguments) did not finish within 120 s")
    }
    try output.close()
    try errorOutput.close()
    return RunResult(
      status: process.terminationStatus,
      output: try String(contentsOfFile: outputPath, encoding: .utf8),
      errorOutput: try String(contentsOfFile: errorPath, encoding: .utf8))
  }

  /// Writes a store, starts the blender on it, and runs `body` with the server, the store's
  /// content as the library reads it, and a scratch directory.
  static func withServer(
    seed: UInt64,
    _ body: (BlendTCPEndToEndTests.ServerProcess, Blender, String) throws -> Void
  ) throws {
    try BlendTCPEndToEndTests.withTemporaryDirectory { directory in
      let store = directory + "/store.sqlite"
      try BlendTCPEndToEndTests.writeStore(at: store, seed: seed)
      let reference = try Blender(
        storePath: store, logger: Logger(label: "test", threshold: .critical))
      let server = try BlendTCPEndToEndTests.ServerProcess(store: store, directory: directory)
      try #require(server.port > 0, "server did not start: \(server.log)")
      try body(server, reference, directory)
      #expect(server.terminate() == 0)
    }
  }

  // MARK: - Expected redis-cli output

  /// A reply as redis-cli shows it.
  indirect enum CLIReply {
    case status(String)
    case bulk(String)
    case error(String)
    case array([CLIReply])

    static func bulks(_ strings: [String]) -> CLIReply { .array(strings.map { .bulk($0) }) }

    /// Formats the reply as redis-cli does for a terminal (`--no-raw`): a bulk string in
    /// quotes, `(error) ` before an error, and array elements numbered `1) `, with the
    /// numbers right-aligned and nested arrays indented under their number.
    func formatted(indent: String = "") -> String {
      switch self {
      case .status(let text): return text + "\n"
      case .bulk(let text): return "\"\(text)\"\n"
      case .error(let text): return "(error) \(text)\n"
      case .array(let elements):
        guard !elements.isEmpty else { return "(empty array)\n" }
        let width = String(elements.count).count
        let nested = indent + String(repeating: " ", count: width + 2)
        var text = ""
        for (position, element) in elements.enumerated() {
          let number = String(position + 1)
          let label = String(repeating: " ", count: width - number.count) + number + ") "
          text += (position == 0 ? "" : indent) + label + element.formatted(indent: nested)
        }
        return text
      }
    }
  }

  /// Returns what redis-cli must show for `request`: the blender's text reply, from the
  /// same store, rearranged into the RESP shapes that the protocol documents.
  static func expectedReply(_ request: Request, _ reference: Blender) -> CLIReply {
    let snapshot = reference.snapshot().0
    var bytes: [UInt8] = []
    TextReplyEncoder.append(reference.answer(request, from: snapshot), to: &bytes)
    let line = String(decoding: bytes.dropLast(), as: UTF8.self)

    func scorePair(_ text: Substring, separator: String) -> CLIReply {
      let parts = text.components(separatedBy: separator)
      return .bulks([parts[0], parts.count > 1 ? parts[1] : "none"])
    }
    switch request {
    case .score:
      return scorePair(Substring(line), separator: " fallback=")
    case .scores:
      return .array(line.split(separator: " ").map { scorePair($0, separator: "/") })
    case .recommend:
      var words = line.split(separator: " ").map(String.init)
      var fallback = "none"
      if let last = words.last, last.hasPrefix("fallback=") {
        fallback = String(last.dropFirst("fallback=".count))
        words.removeLast()
      }
      let pairs =
        words == ["none"] ? [] : words.flatMap { $0.split(separator: ":").map(String.init) }
      return .array([.bulks(pairs), .bulk(fallback)])
    case .explain:
      return .bulks(
        line.split(separator: " ").flatMap {
          $0.split(separator: "=", maxSplits: 1).map(String.init)
        })
    default:
      preconditionFailure("expectedReply covers SCORE, SCORES, RECOMMEND and EXPLAIN")
    }
  }

  // MARK: - redis-cli

  @Test func redisCLIRunsEveryCommand() throws {
    let cli = try #require(RedisTools.cli)
    try Self.withServer(seed: 4) { server, reference, directory in
      let user = BlendTCPEndToEndTests.userIDs[2]
      let items = BlendTCPEndToEndTests.itemIDs
      func reply(_ request: Request) -> CLIReply { Self.expectedReply(request, reference) }
      let cases: [([String], CLIReply)] = [
        (["SCORE", "\(user)", "\(items[0])"], reply(.score(user: user, item: items[0]))),
        (["score", "\(user)", "88888"], reply(.score(user: user, item: 88888))),
        (["SCORE", "99999", "\(items[1])"], reply(.score(user: 99999, item: items[1]))),
        (
          ["SCORES", "\(user)", "\(items[0])", "\(items[9])", "88888"],
          reply(.scores(user: user, items: [items[0], items[9], 88888]))
        ),
        (["RECOMMEND", "\(user)", "3"], reply(.recommend(user: user, count: 3))),
        (["RECOMMEND", "99999", "2"], reply(.recommend(user: 99999, count: 2))),
        (["EXPLAIN", "\(user)", "\(items[4])"], reply(.explain(user: user, item: items[4]))),
        (["PING"], .status("PONG")),
        (["PING", "hello world"], .bulk("hello world")),
        (["CONFIG", "GET", "save", "appendonly"], .bulks(["save", "", "appendonly", "no"])),
        (["COMMAND", "DOCS"], .array([])),
        (["FOO"], .error("ERR unknown command 'FOO'; commands are \(Self.commandList)")),
        (
          ["SCORE", "x", "1"],
          .error("ERR invalid id 'x'; ids are integers from 0 to 2147483647")
        ),
        (
          ["RECOMMEND"],
          .error("ERR wrong number of arguments for RECOMMEND; usage: RECOMMEND user [k]")
        ),
        (["RELOAD"], .status("OK reloaded users=40 items=60 created_at=seed-4")),
        (["QUIT"], .status("OK")),
      ]
      for (arguments, reply) in cases {
        let result = try Self.run(
          cli, ["--no-raw", "-h", "127.0.0.1", "-p", "\(server.port)"] + arguments,
          directory: directory)
        #expect(result.status == 0, "\(arguments): \(result.errorOutput)")
        #expect(result.output == reply.formatted(), "\(arguments)")
      }
    }
  }

  @Test func redisCLIShowsInfoFields() throws {
    let cli = try #require(RedisTools.cli)
    try Self.withServer(seed: 5) { server, _, directory in
      let result = try Self.run(
        cli, ["-h", "127.0.0.1", "-p", "\(server.port)", "INFO"], directory: directory)
      #expect(result.status == 0, "\(result.errorOutput)")
      // redis-cli prints INFO's bulk string as it is, CRLF line ends included.
      let lines = result.output.split(whereSeparator: \.isNewline).map(String.init)
      let fields = lines.map { line in
        let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
        return (parts[0], parts.count > 1 ? parts[1] : "")
      }
      #expect(
        fields.map(\.0) == [
          "format_version", "created_at", "dataset_fingerprint", "serve_fit", "layout", "users",
          "items", "models", "uptime_seconds", "requests", "errors", "reloads", "failed_reloads",
          "connections",
        ])
      let values = Dictionary(fields, uniquingKeysWith: { first, _ in first })
      #expect(values["created_at"] == "seed-5")
      #expect(values["users"] == "40")
      #expect(values["items"] == "60")
      #expect(values["models"] == "bias,item_knn,mf")
      #expect(values["connections"] == "1")
    }
  }

  @Test func redisCLIReadsCommandsFromStandardInput() throws {
    // Without command arguments redis-cli reads commands from standard input, after
    // sending COMMAND DOCS to build its help, and prints raw replies.
    let cli = try #require(RedisTools.cli)
    try Self.withServer(seed: 6) { server, reference, directory in
      let user = BlendTCPEndToEndTests.userIDs[0]
      let item = BlendTCPEndToEndTests.itemIDs[0]
      let score = Self.expectedReply(.score(user: user, item: item), reference)
      guard case .array(let parts) = score, case .bulk(let value) = parts[0],
        case .bulk(let fallback) = parts[1]
      else {
        Issue.record("unexpected shape \(score)")
        return
      }
      let result = try Self.run(
        cli, ["-h", "127.0.0.1", "-p", "\(server.port)"],
        input: "SCORE \(user) \(item)\nPING\nFOO\nINFO\n", directory: directory)
      #expect(result.status == 0, "\(result.errorOutput)")
      let lines = result.output.split(whereSeparator: \.isNewline).map(String.init)
      try #require(lines.count > 4, "\(lines)")
      #expect(Array(lines[0..<3]) == [value, fallback, "PONG"])
      #expect(lines[3] == "ERR unknown command 'FOO'; commands are \(Self.commandList)")
      // COMMAND DOCS got a reply that is not an error, so only FOO counts.
      #expect(lines.contains("errors:1"), "\(lines)")
    }
  }

  @Test func malformedRESPGetsErrorAndClose() throws {
    try Self.withServer(seed: 7) { server, _, _ in
      let client = try BlendTCPEndToEndTests.Client(port: server.port)
      client.send("PING\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\nPING\n")
      #expect(
        client.readLines(3) == [
          "PONG", "+PONG\r", "-ERR protocol error: invalid bulk length 'x'\r",
        ])
      // The server closed the connection, so a read returns end of file.
      #expect(client.readLines(1).isEmpty)
      #expect(server.log.contains("closing connection after a RESP protocol error"))
    }
  }

  // MARK: - redis-benchmark

  /// Returns the requests-per-second figure from redis-benchmark's quiet output, such as
  /// `SCORE __rand_int__ 7: 41152.26 requests per second, p50=0.199 msec`.
  static func requestsPerSecond(_ output: String) -> Double? {
    guard let range = output.range(of: " requests per second", options: .backwards) else {
      return nil
    }
    let digits = output[..<range.lowerBound].reversed().prefix { $0.isNumber || $0 == "." }
    return Double(String(digits.reversed()))
  }

  @Test(.enabled(if: RedisTools.benchmark != nil, "redis-benchmark is not installed"))
  func redisBenchmarkRunsScore() throws {
    let benchmark = try #require(RedisTools.benchmark)
    let cli = try #require(RedisTools.cli)
    try Self.withServer(seed: 8) { server, _, directory in
      let item = "\(BlendTCPEndToEndTests.itemIDs[3])"
      // -r 200 makes user ids 0 to 199, known and unknown; -P 16 pipelines 16 requests.
      for pipeline in ["1", "16"] {
        let result = try Self.run(
          benchmark,
          [
            "-h", "127.0.0.1", "-p", "\(server.port)", "-n", "2000", "-c", "10", "-r", "200",
            "-P", pipeline, "-q", "SCORE", "__rand_int__", item,
          ], directory: directory)
        #expect(result.status == 0, "\(result.errorOutput)")
        // The blender replies to CONFIG GET save and appendonly, so there is no warning.
        #expect(result.errorOutput.isEmpty, "\(result.errorOutput)")
        let rate = Self.requestsPerSecond(result.output)
        #expect((rate ?? 0) > 0, "\(result.output)")
        print("redis-benchmark -P \(pipeline): \(rate ?? 0) requests per second")
      }

      let info = try Self.run(
        cli, ["-h", "127.0.0.1", "-p", "\(server.port)", "INFO"], directory: directory)
      #expect(info.output.contains("errors:0"), "\(info.output)")
    }
  }
}
