import Dispatch
import Foundation
import Glibc
import StackRec
import Synchronization
import Testing

/// Runs the built `stackrec-blend` over TCP into its limits: long lines, large batches and
/// k, too many connections, idle and slow clients, clients that vanish mid-response or
/// never read, and a file descriptor limit. Each limit gets its documented error, and the
/// other clients keep being served.
@Suite struct BlendLimitsEndToEndTests {
  /// Runs `body` with a blender serving the test store, started with `arguments`.
  func withServer(
    _ arguments: [String] = [], limits: [String] = [], _ body: (BlendServer) throws -> Void
  ) throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 1)
      let server = try BlendServer(
        store: store, in: directory, arguments: arguments, limits: limits)
      try body(server)
      #expect(server.stop() == 0, "\(server.log)")
    }
  }

  // MARK: - Request limits

  @Test func longLinesGetErrorAndConnectionRecovers() throws {
    try withServer(["--max-line-length", "64"]) { server in
      let client = try server.connect()
      let limit = "ERR line too long; requests are limited to 64 bytes"
      // 64 bytes pass; 65 do not; a 1 MiB line is discarded up to its newline.
      try client.send("SCORE 3" + String(repeating: " ", count: 56) + "7\n")
      try client.send("SCORE 3" + String(repeating: " ", count: 57) + "7\n")
      try client.send(String(repeating: "x", count: 1 << 20) + "\nPING\n")
      let replies = try client.readLines(4)
      #expect(!replies[0].hasPrefix("ERR"), "\(replies[0])")
      #expect(replies[1] == limit)
      #expect(replies[2] == limit)
      #expect(replies[3] == "PONG")
    }
  }

  @Test func batchAndCountLimitsGetErrors() throws {
    try withServer(["--max-batch", "3", "--max-k", "5"]) { server in
      let replies = try server.exchange([
        "SCORES 3 7 14 21", "SCORES 3 7 14 21 28", "RECOMMEND 3 5", "RECOMMEND 3 6",
        "RECOMMEND 3", "RECOMMEND 3 0", "PING",
      ])
      #expect(replies[0].split(separator: " ").count == 3, "\(replies[0])")
      #expect(replies[1] == "ERR too many items; SCORES takes at most 3 items per request")
      #expect(replies[2].split(separator: " ").count == 5, "\(replies[2])")
      #expect(replies[3] == "ERR invalid count '6'; k is an integer from 1 to 5")
      // Without k, RECOMMEND uses the default of 10, cut to the limit.
      #expect(replies[4].split(separator: " ").count == 5, "\(replies[4])")
      #expect(replies[5] == "ERR invalid count '0'; k is an integer from 1 to 5")
      #expect(replies[6] == "PONG")
    }
  }

  // MARK: - Connection limits

  @Test func connectionLimitRejectsThirdClient() throws {
    try withServer(["--max-connections", "2"]) { server in
      var clients = try (0..<2).map { _ in try server.connect() }
      for client in clients {
        try client.send("PING\n")
        #expect(try client.readLine() == "PONG")
      }

      let extra = try server.connect()
      #expect(try extra.readLine() == "ERR too many connections (limit 2); try again later")
      #expect(try extra.readLine() == nil)
      #expect(server.child.waitForLog("rejected connection: too many connections"))

      // The open clients still work, and closing one makes room.
      try clients[1].send("PING\n")
      #expect(try clients[1].readLine() == "PONG")
      clients.removeFirst()
      var replacement: String?
      for _ in 0..<50 where replacement != "PONG" {
        let client = try server.connect()
        try client.send("PING\n")
        replacement = try client.readLine()
        usleep(20_000)
      }
      #expect(replacement == "PONG")
    }
  }

  @Test func idleClientIsClosedActiveStays() throws {
    try withServer(["--idle-timeout", "1"]) { server in
      let start = ContinuousClock.now
      let idle = try server.connect()
      let active = try server.connect()
      var closedAfter: Duration?
      var exchanges = 0
      while start.duration(to: .now) < .seconds(4) && closedAfter == nil {
        try active.send("PING\n")
        #expect(try active.readLine() == "PONG")
        exchanges += 1
        if idle.waitForClose(timeout: .milliseconds(200)) { closedAfter = start.duration(to: .now) }
      }
      let after = try #require(closedAfter, "the idle client is still open after 4 s")
      #expect(after >= .milliseconds(900))
      #expect(after < .seconds(3))
      try active.send("PING\n")
      #expect(try active.readLine() == "PONG")
    }
  }

  @Test func incompleteRequestsTimeOutInTheirProtocol() throws {
    try withServer(["--request-timeout", "1", "--idle-timeout", "30"]) { server in
      let start = ContinuousClock.now
      let text = try server.connect()
      let resp = try server.connect()
      try text.send("PING\nPIN")
      try resp.send("*1\r\n$4\r\nPING\r\n*1\r\n$100\r\nPI")
      #expect(try text.readLine() == "PONG")
      #expect(try resp.readLine() == "+PONG\r")
      // Trickle one byte each 300 ms, never completing the requests.
      var replies: [String?] = [nil, nil]
      while start.duration(to: .now) < .seconds(4) && replies.contains(nil) {
        usleep(300_000)
        try? text.send("N")
        try? resp.send("N")
        if replies[0] == nil { replies[0] = try? text.readLine(timeout: .milliseconds(1)) }
        if replies[1] == nil { replies[1] = try? resp.readLine(timeout: .milliseconds(1)) }
      }
      let elapsed = start.duration(to: .now)
      #expect(replies[0] == "ERR request incomplete after 1 s; closing connection")
      #expect(replies[1] == "-ERR request incomplete after 1 s; closing connection\r")
      #expect(elapsed >= .milliseconds(900))
      #expect(elapsed < .seconds(3))
      #expect(text.waitForClose(timeout: .seconds(1)))
      #expect(resp.waitForClose(timeout: .seconds(1)))
    }
  }

  @Test func slowClientsDoNotDelayOthers() throws {
    // One event loop, so the slow clients and the fast one share a thread.
    try withServer(["--threads", "1"]) { server in
      let port = server.port
      let slowReplies = Mutex<[String?]>([])
      let done = DispatchSemaphore(value: 0)
      let sender = Thread {
        let slow = (0..<20).compactMap { _ in try? LineClient(port: port) }
        // Every client sends one byte of "PING\n" each half second.
        for byte in Array("PING\n".utf8) {
          for client in slow { try? client.send(bytes: [byte]) }
          usleep(500_000)
        }
        let replies = slow.map { try? $0.readLine() }
        slowReplies.withLock { $0 = replies }
        done.signal()
      }
      sender.start()

      let fast = try server.connect()
      var slowest = Duration.zero
      let start = ContinuousClock.now
      while start.duration(to: .now) < .seconds(2) {
        let sent = ContinuousClock.now
        try fast.send("SCORE 3 7\n")
        #expect(try fast.readLine(timeout: .seconds(2))?.hasPrefix("ERR") == false)
        slowest = max(slowest, sent.duration(to: .now))
        usleep(50_000)
      }
      // A loaded shared machine can stall a thread for a while; 500 ms is far below the
      // 2.5 s that the slow clients take.
      #expect(slowest < .milliseconds(500), "slowest round trip \(slowest)")
      #expect(done.wait(timeout: .now() + 10) == .success)
      #expect(slowReplies.withLock { $0 } == [String?](repeating: "PONG", count: 20))
    }
  }

  // MARK: - Clients that do not read

  @Test func vanishingClientsLeaveServerServing() throws {
    try withServer { server in
      let before = try #require(server.residentKilobytes)
      let requests = String(repeating: "RECOMMEND 3 60\n", count: 2_000)
      for _ in 0..<20 {
        let client = try server.connect(receiveBufferSize: 4096)
        _ = client.sendUntilBlocked(Array(requests.utf8), timeout: .seconds(2))
        client.reset()
      }
      let replies = try server.exchange(["PING", "SCORE 3 7"])
      #expect(replies[0] == "PONG")
      #expect(!replies[1].hasPrefix("ERR"))
      let after = try #require(server.residentKilobytes)
      #expect(after - before < 32 * 1024, "resident memory grew from \(before) to \(after) KiB")
    }
  }

  @Test func nonReadingClientKeepsMemoryBounded() throws {
    try withServer { server in
      _ = try server.exchange(["RECOMMEND 3 60"])
      let before = try #require(server.residentKilobytes)

      // 100,000 requests whose replies take about 70 MB; the client reads none of them.
      let hog = try server.connect(receiveBufferSize: 16 * 1024)
      let request = Array("RECOMMEND 3 60\n".utf8)
      var bytes: [UInt8] = []
      bytes.reserveCapacity(request.count * 100_000)
      for _ in 0..<100_000 { bytes += request }
      let sent = hog.sendUntilBlocked(bytes, timeout: .seconds(5))
      usleep(500_000)
      let during = try #require(server.residentKilobytes)

      // Other clients are still served while the hog's replies wait.
      let replies = try server.exchange(["PING"])
      #expect(replies == ["PONG"])
      // The server buffers about 4 MiB of replies per connection at most (maxPendingOutput),
      // plus 1 MiB of input. The rest waits in the kernel or in the client.
      #expect(during - before < 32 * 1024, "resident memory grew from \(before) to \(during) KiB")
      // Loopback's kernel buffers take most or all of the requests, so the server has them.
      #expect(sent > bytes.count / 2, "sent \(sent) of \(bytes.count) bytes")
      hog.reset()
    }
  }

  @Test func lowSoftDescriptorLimitIsRaised() throws {
    // A soft limit of 40 under a larger hard limit: the blender raises its own soft limit,
    // so all 60 clients are served at once and nothing is logged about the limit.
    try withServer(["--max-connections", "100"], limits: ["-S -n 40"]) { server in
      let clients = try (0..<60).map { _ in try server.connect() }
      for client in clients {
        try client.send("PING\n")
      }
      for client in clients {
        #expect(try client.readLine(timeout: .seconds(2)) == "PONG")
      }
      #expect(!server.log.contains("cannot accept connections"), "\(server.log)")
      #expect(!server.log.contains("open-file limit"), "\(server.log)")
    }
  }

  @Test func fileDescriptorLimitDelaysButServes() throws {
    // A hard limit of 40 descriptors: the server's own (about a dozen) leave room for about
    // 25 clients, and it warns at start-up that the limit is below --max-connections.
    try withServer(limits: ["-n 40"]) { server in
      #expect(server.log.contains("the open-file limit is below --max-connections"))
      var clients = try (0..<40).map { _ in try server.connect() }
      for client in clients {
        try client.send("PING\n")
      }
      // The server accepts in connection order, so the clients it serves come first.
      var answered = 0
      while answered < clients.count,
        (try? clients[answered].readLine(timeout: .milliseconds(500))) == "PONG"
      {
        answered += 1
      }
      #expect(answered > 0)
      #expect(answered < 40)
      #expect(server.log.contains("cannot accept connections"), "\(server.log)")

      // Closing the served clients lets the waiting ones in.
      clients.removeFirst(answered)
      for client in clients {
        #expect(try client.readLine(timeout: .seconds(5)) == "PONG")
      }
    }
  }

  // MARK: - Memory across reloads

  /// Writes a dense store of 500 users and 12,000 items whose decoded scores take about
  /// 24 MB in the blender (one `Float` per pair), with one exact rank-1 model so that it
  /// writes fast.
  static func writeLargeStore(at path: String) throws {
    let users = 500
    let items = 12_000
    let userTerms = (0..<users).map { Float(1 + $0 % 4) / 2 }
    let itemTerms = (0..<items).map { Float(1 + $0 % 5) / 2 }
    let model = StoredModel(
      key: "bias", scores: userTerms.flatMap { user in itemTerms.map { user * $0 } },
      basis: ScoreBasis(rank: 1, userTerms: userTerms, itemTerms: itemTerms),
      unknownUserScores: [Float](repeating: 3, count: items),
      unknownItemScores: [Float](repeating: 3, count: users), unknownUserAndItemScore: 3)
    let content = FeatureStoreContent(
      createdAt: "large", datasetFingerprint: "test", serveFit: "all", ratingScale: 0.5...5.0,
      userIDs: (1...Int32(users)).map { $0 }, itemIDs: (1...Int32(items)).map { $0 },
      titles: [String](repeating: "", count: items),
      userSupport: [Int32](repeating: 5, count: users),
      itemSupport: [Int32](repeating: 5, count: items),
      ratedItems: [[Int32]](repeating: [], count: users), models: [model],
      blend: BlendModel(intercept: 0, weights: [1]))
    _ = try FeatureStoreWriter.write(content, to: path)
  }

  @Test func idleConnectionsFreeReplacedStores() throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try Self.writeLargeStore(at: store)
      let server = try BlendServer(store: store, in: directory)
      let admin = try server.connect()
      try admin.send("PING\n")
      #expect(try admin.readLine() == "PONG")
      let before = try #require(server.residentKilobytes)

      // Each idle connection last spoke while a different store was current.
      var idle: [LineClient] = []
      for _ in 0..<8 {
        let client = try server.connect()
        try client.send("PING\n")
        #expect(try client.readLine() == "PONG")
        idle.append(client)
        try admin.send("RELOAD\n")
        #expect(try admin.readLine()?.hasPrefix("OK reloaded") == true)
      }
      let after = try #require(server.residentKilobytes)

      // Sessions hold a store only while they process input, so the replaced stores of
      // about 24 MB each are freed even though their connections stay open.
      #expect(
        after - before < 3 * 24 * 1024,
        "resident memory grew from \(before) to \(after) KiB over 8 reloads")
      withExtendedLifetime(idle) {}
      #expect(server.stop() == 0)
    }
  }
}
