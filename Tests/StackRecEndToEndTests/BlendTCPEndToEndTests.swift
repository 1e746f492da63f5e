import Foundation
import Glibc
import StackRec
import Synchronization
import Testing

/// Runs the built `stackrec-blend` over TCP on loopback: many pipelining
/// clients, a reload under load, and shutdown on SIGTERM.
@Suite(.serialized) struct BlendTCPEndToEndTests {
  static let blendPath: String = {
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    let directory = URL(fileURLWithPath: testBinary ?? "").deletingLastPathComponent().path
    return directory + "/stackrec-blend"
  }()

  // MARK: - Stores

  static let userIDs: [Int32] = (1...40).map { $0 * 3 }
  static let itemIDs: [Int32] = (1...60).map { $0 * 7 }

  /// Writes a store of random scores for three models, seeded by `seed`.
  static func writeStore(at path: String, seed: UInt64) throws {
    var generator = SeededGenerator(seed: seed)
    let users = userIDs.count
    let items = itemIDs.count
    func randomScores(_ count: Int) -> [Float] {
      (0..<count).map { _ in Float(0.5 + 4.5 * generator.nextUnit()) }
    }
    let models = ["bias", "item_knn", "mf"].map { key in
      StoredModel(
        key: key, scores: randomScores(users * items),
        basis: ScoreBasis(
          rank: 1, userTerms: [Float](repeating: 1, count: users),
          itemTerms: [Float](repeating: 3, count: items)),
        unknownUserScores: randomScores(items), unknownItemScores: randomScores(users),
        unknownUserAndItemScore: 3.5)
    }
    let content = FeatureStoreContent(
      createdAt: "seed-\(seed)", datasetFingerprint: "test", serveFit: "all",
      ratingScale: 0.5...5.0, userIDs: userIDs, itemIDs: itemIDs,
      titles: itemIDs.map { "Movie \($0)" },
      userSupport: [Int32](repeating: 5, count: users),
      itemSupport: (0..<items).map { $0 % 10 == 9 ? 0 : 4 },
      ratedItems: (0..<users).map { user in [Int32(user % items)] }, models: models,
      blend: BlendModel(intercept: 0.1, weights: [0.3, 0.4, 0.3]))
    _ = try FeatureStoreWriter.write(content, to: path)
  }

  /// Returns the reply line the blender must send for `request`, computed
  /// from the store as the library reads it.
  static func expectedReply(_ request: Request, _ snapshot: StoreSnapshot) -> String {
    let reply: Reply
    switch request {
    case .score(let user, let item):
      // A dense store decodes every user at load time, so lookups cannot fail.
      let result = try! snapshot.score(
        user: snapshot.users.index(of: user).map(Int.init),
        item: snapshot.items.index(of: item).map(Int.init))
      reply = .score(result.value, result.fallback)
    case .ping:
      reply = .status("PONG")
    default:
      preconditionFailure("only SCORE and PING are generated")
    }
    var bytes: [UInt8] = []
    TextReplyEncoder.append(reply, to: &bytes)
    return String(decoding: bytes.dropLast(), as: UTF8.self)
  }

  /// Generates `count` requests: mostly SCORE over known and unknown ids,
  /// some PING.
  static func makeRequests(count: Int, seed: UInt64) -> [(line: String, request: Request)] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
      if generator.nextInt(below: 10) == 0 { return ("PING", .ping) }
      let user = generator.nextInt(below: 12) == 0 ? 99_999 : userIDs[generator.nextInt(below: userIDs.count)]
      let item = generator.nextInt(below: 12) == 0 ? 88_888 : itemIDs[generator.nextInt(below: itemIDs.count)]
      return ("SCORE \(user) \(item)", .score(user: user, item: item))
    }
  }

  // MARK: - Server process

  /// A `stackrec-blend --listen 127.0.0.1:0` process and the port it chose.
  final class ServerProcess {
    let process = Process()
    let errorPath: String
    private(set) var port = 0

    init(store: String, directory: String) throws {
      errorPath = directory + "/blend-stderr.txt"
      _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
      let errorHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
      process.executableURL = URL(fileURLWithPath: BlendTCPEndToEndTests.blendPath)
      process.arguments = ["--store", store, "--listen", "127.0.0.1:0"]
      process.standardError = errorHandle
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      try errorHandle.close()

      // The log line "listening address=127.0.0.1:PORT" gives the port.
      let deadline = Date().addingTimeInterval(20)
      while port == 0 && Date() < deadline && process.isRunning {
        let log = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        if let range = log.range(of: "listening address=127.0.0.1:") {
          let digits = log[range.upperBound...].prefix { $0.isNumber }
          port = Int(digits) ?? 0
        }
        if port == 0 { usleep(20_000) }
      }
    }

    var log: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits up to 10 s for the exit status.
    func terminate() -> Int32? {
      guard process.isRunning else { return process.terminationStatus }
      kill(process.processIdentifier, SIGTERM)
      let deadline = Date().addingTimeInterval(10)
      while process.isRunning && Date() < deadline { usleep(10_000) }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        return nil
      }
      return process.terminationStatus
    }

    deinit {
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
  }

  // MARK: - Clients

  /// A blocking TCP client that sends request lines and reads reply lines.
  final class Client {
    let socket: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
      socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = in_port_t(UInt16(port).bigEndian)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      var timeout = timeval(tv_sec: 20, tv_usec: 0)
      setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
      let status = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      try #require(status == 0, "cannot connect to 127.0.0.1:\(port): errno \(errno)")
    }

    deinit { close(socket) }

    func send(_ text: String) {
      let bytes = Array(text.utf8)
      var offset = 0
      while offset < bytes.count {
        let sent = bytes.withUnsafeBytes {
          Glibc.send(socket, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
        }
        if sent <= 0 { return }
        offset += sent
      }
    }

    /// Reads the next `count` lines, or fewer if the server closes or the
    /// read times out.
    func readLines(_ count: Int) -> [String] {
      var lines: [String] = []
      var chunk = [UInt8](repeating: 0, count: 65_536)
      while lines.count < count {
        if let newline = buffer.firstIndex(of: 0x0A) {
          lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
          buffer.removeSubrange(...newline)
          continue
        }
        let received = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
        if received <= 0 { break }
        buffer.append(contentsOf: chunk[0..<received])
      }
      return lines
    }
  }

  /// Runs `body` for each of `count` clients on its own thread and waits.
  static func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
      group.enter()
      let thread = Thread {
        body(index)
        group.leave()
      }
      thread.stackSize = 1 << 20
      thread.start()
    }
    group.wait()
  }

  static func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("stackrec-tcp-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
  }

  // MARK: - Tests

  @Test func fiftyPipeliningClientsGetOrderedReplies() throws {
    try Self.withTemporaryDirectory { directory in
      let store = directory + "/store.sqlite"
      try Self.writeStore(at: store, seed: 1)
      let snapshot = try FeatureStoreReader.load(path: store)
      let server = try ServerProcess(store: store, directory: directory)
      try #require(server.port > 0, "server did not start: \(server.log)")

      let mismatches = Mutex<[String]>([])
      let port = server.port
      Self.concurrently(50) { client in
        let requests = Self.makeRequests(count: 1000, seed: UInt64(100 + client))
        guard let connection = try? Client(port: port) else {
          mismatches.withLock { $0.append("client \(client): no connection") }
          return
        }
        connection.send(requests.map { $0.line + "\n" }.joined())
        let replies = connection.readLines(requests.count)
        var problems: [String] = []
        if replies.count != requests.count {
          problems.append("client \(client): \(replies.count) replies to \(requests.count) requests")
        }
        for (request, reply) in zip(requests, replies) {
          let expected = Self.expectedReply(request.request, snapshot)
          if reply != expected {
            problems.append("client \(client): '\(request.line)' got '\(reply)', expected '\(expected)'")
          }
        }
        mismatches.withLock { $0 += problems.prefix(3) }
      }

      let problems = mismatches.withLock { $0 }
      #expect(problems.isEmpty, "\(problems.prefix(5))")
      #expect(server.terminate() == 0)
    }
  }

  @Test func reloadUnderLoadFailsNoRequest() throws {
    try Self.withTemporaryDirectory { directory in
      let store = directory + "/store.sqlite"
      try Self.writeStore(at: store, seed: 1)
      let before = try FeatureStoreReader.load(path: store)
      let replacement = directory + "/replacement.sqlite"
      try Self.writeStore(at: replacement, seed: 2)
      let after = try FeatureStoreReader.load(path: replacement)
      let server = try ServerProcess(store: store, directory: directory)
      try #require(server.port > 0, "server did not start: \(server.log)")

      let problems = Mutex<[String]>([])
      let newStoreSeen = Mutex(0)
      let reloadReply = Mutex("")
      let port = server.port
      Self.concurrently(21) { client in
        if client == 20 {
          // Replace the file and reload while the other clients are busy.
          usleep(150_000)
          rename(replacement, store)
          guard let admin = try? Client(port: port) else { return }
          admin.send("RELOAD\n")
          reloadReply.withLock { $0 = admin.readLines(1).first ?? "" }
          return
        }
        guard let connection = try? Client(port: port) else {
          problems.withLock { $0.append("client \(client): no connection") }
          return
        }
        // Twenty rounds of 100 pipelined requests, so the reload lands mid-way.
        let requests = Self.makeRequests(count: 2000, seed: UInt64(500 + client))
        var sawNewStore = false
        for round in 0..<20 {
          let batch = requests[(round * 100)..<((round + 1) * 100)]
          connection.send(batch.map { $0.line + "\n" }.joined())
          let replies = connection.readLines(batch.count)
          if replies.count != batch.count {
            problems.withLock { $0.append("client \(client): lost replies in round \(round)") }
            return
          }
          for (request, reply) in zip(batch, replies) {
            let old = Self.expectedReply(request.request, before)
            let new = Self.expectedReply(request.request, after)
            if reply != old && reply != new {
              problems.withLock { $0.append("client \(client): '\(request.line)' got '\(reply)'") }
            } else if reply != old {
              sawNewStore = true
            } else if reply != new && sawNewStore {
              problems.withLock { $0.append("client \(client): old store after the new one") }
            }
          }
          usleep(10_000)
        }
        if sawNewStore { newStoreSeen.withLock { $0 += 1 } }
      }

      #expect(reloadReply.withLock { $0 }.hasPrefix("OK reloaded"), "\(reloadReply.withLock { $0 })")
      let found = problems.withLock { $0 }
      #expect(found.isEmpty, "\(found.prefix(5))")
      #expect(newStoreSeen.withLock { $0 } > 0)
      let info = try Client(port: server.port)
      info.send("INFO\n")
      let fields = info.readLines(1).first ?? ""
      #expect(fields.contains("reloads=1"), "\(fields)")
      #expect(fields.contains("created_at=seed-2"), "\(fields)")
      #expect(server.terminate() == 0)
    }
  }

  @Test func sigtermExitsZeroWithClientsConnected() throws {
    try Self.withTemporaryDirectory { directory in
      let store = directory + "/store.sqlite"
      try Self.writeStore(at: store, seed: 3)
      let server = try ServerProcess(store: store, directory: directory)
      try #require(server.port > 0, "server did not start: \(server.log)")
      let client = try Client(port: server.port)
      client.send("PING\n")
      #expect(client.readLines(1) == ["PONG"])

      #expect(server.terminate() == 0)
      #expect(server.log.contains("shutting down signal=SIGTERM"))
      // The server closed the connection: a read sees end of file.
      #expect(client.readLines(1).isEmpty)
    }
  }
}
