import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

@testable import StackRec

// Every test runs a real server on an ephemeral port of 127.0.0.1, with run() on its own
// thread, and talks to it through blocking client sockets whose reads have deadlines.
// The suite is serialized because several tests measure latency on a shared machine.
@Suite(.serialized) struct TCPServerTests {
  // MARK: - Pipelining and framing

  @Test func manyClientsPipelineInOrder() throws {
    let server = try RunningServer(ServerConfiguration(eventLoops: 2))
    let clientCount = 50
    let requestCount = 1000

    // Open every connection first, so all of them are served at the same time.
    let clients = try (0..<clientCount).map { _ in try TestClient(port: server.port) }
    let failures = Locked<[String]>([])
    let finished = DispatchGroup()
    for (clientIndex, client) in clients.enumerated() {
      finished.enter()
      let thread = Thread {
        defer { finished.leave() }
        do {
          var requests: [String] = []
          var expected: [String] = []
          for request in 0..<requestCount {
            if request % 2 == 0 {
              requests.append("ADD \(clientIndex) \(request)\n")
              expected.append(String(clientIndex + request))
            } else {
              requests.append("ECHO client-\(clientIndex)-\(request)\n")
              expected.append("client-\(clientIndex)-\(request)")
            }
          }
          // Even clients write everything at once, odd ones in chunks of 100 requests.
          let chunkLength = clientIndex % 2 == 0 ? requestCount : 100
          var responses: [String] = []
          for chunkStart in stride(from: 0, to: requestCount, by: chunkLength) {
            let chunk = requests[chunkStart..<min(chunkStart + chunkLength, requestCount)]
            try client.send(chunk.joined())
            responses += try client.readLines(chunk.count, timeout: .seconds(20))
          }
          if responses != expected {
            let difference = responses.indices.first { responses[$0] != expected[$0] } ?? 0
            failures.withLock {
              $0.append(
                "client \(clientIndex): response \(difference) is "
                  + "'\(responses[difference])', expected '\(expected[difference])'")
            }
          }
        } catch {
          failures.withLock { $0.append("client \(clientIndex): \(error)") }
        }
      }
      thread.start()
    }

    #expect(finished.wait(timeout: .now() + 30) == .success)
    #expect(failures.withLock { $0 } == [])
    #expect(server.stop() != nil)
  }

  @Test(arguments: [1, 2, 7, 64])
  func chunkedRequestsGiveSameResponses(chunkLength: Int) throws {
    let server = try RunningServer()
    let script: [(request: String, response: String)] = [
      ("ECHO hello", "hello"),
      ("ADD 2 3", "5"),
      ("ADD -40 2", "-38"),
      ("NOPE", "ERR unknown command"),
      ("ECHO two  spaces", "two  spaces"),
      ("REPEAT 5", "xxxxx"),
      ("", "ERR unknown command"),
      ("ADD 1", "ERR usage: ADD a b"),
      ("ECHO last", "last"),
    ]
    let bytes = Array(script.map { $0.request + "\n" }.joined().utf8)

    let client = try TestClient(port: server.port)
    for start in stride(from: 0, to: bytes.count, by: chunkLength) {
      try client.send(bytes: Array(bytes[start..<min(start + chunkLength, bytes.count)]))
      // A short pause makes the kernel deliver most chunks as separate reads.
      usleep(1000)
    }
    let responses = try client.readLines(script.count)
    #expect(responses == script.map(\.response))
    #expect(server.stop() != nil)
  }

  @Test func requestLongerThanSliceIsAnswered() throws {
    let server = try RunningServer()
    let text = String(repeating: "y", count: 3 * Connection.inputSliceLength + 17)
    let client = try TestClient(port: server.port)
    try client.send("ECHO \(text)\nADD 1 2\n")
    #expect(try client.readLine() == text)
    #expect(try client.readLine() == "3")
    #expect(server.stop() != nil)
  }

  @Test func halfClosedClientGetsEveryResponse() throws {
    let server = try RunningServer()
    let client = try TestClient(port: server.port)
    try client.send((0..<100).map { "ADD \($0) 1\n" }.joined())
    client.shutdownOutput()
    let responses = try client.readLines(100)
    #expect(responses == (0..<100).map { String($0 + 1) })
    #expect(client.waitForClose(timeout: .seconds(2)))
    #expect(server.stop() != nil)
  }

  @Test func handlerCloseRequestClosesAfterResponse() throws {
    let server = try RunningServer()
    let client = try TestClient(port: server.port)
    try client.send("ECHO a\nQUIT\nECHO b\n")
    #expect(try client.readLine() == "a")
    #expect(try client.readLine() == "BYE")
    #expect(try client.readLine() == nil)
    #expect(server.stop() != nil)
  }

  @Test func handlerSeesPeerAddress() throws {
    let infos = Locked<[ConnectionInfo]>([])
    let server = try RunningServer { info in
      infos.withLock { $0.append(info) }
      return LineTestHandler()
    }
    let client = try TestClient(port: server.port)
    try client.send("ECHO ping\n")
    #expect(try client.readLine() == "ping")

    let recorded = infos.withLock { $0 }
    #expect(recorded.count == 1)
    #expect(recorded.first?.id == 1)
    #expect(recorded.first?.peer.host == "127.0.0.1")
    #expect(recorded.first?.peer.port == client.localPort)
    #expect(recorded.first?.peer.isLoopback == true)
    #expect(server.stop() != nil)
  }

  // MARK: - Limits

  @Test func connectionLimitRejectsExtraClient() throws {
    let server = try RunningServer(ServerConfiguration(maxConnections: 3, eventLoops: 2))
    var clients = try (0..<3).map { _ in try TestClient(port: server.port) }
    for (index, client) in clients.enumerated() {
      try client.send("ECHO first-\(index)\n")
      #expect(try client.readLine() == "first-\(index)")
    }

    let extra = try TestClient(port: server.port)
    #expect(try extra.readLine() == "ERR too many connections (limit 3); try again later")
    #expect(try extra.readLine() == nil)
    #expect(server.server.rejectedConnectionCount == 1)

    for (index, client) in clients.enumerated() {
      try client.send("ECHO again-\(index)\n")
      #expect(try client.readLine() == "again-\(index)")
    }

    // Closing one client makes room for a new one.
    clients.removeFirst().close()
    #expect(waitUntil { server.server.openConnectionCount == 2 })
    let replacement = try TestClient(port: server.port)
    try replacement.send("ECHO replacement\n")
    #expect(try replacement.readLine() == "replacement")
    #expect(server.stop() != nil)
  }

  @Test func overlongInputGetsErrorAndClose() throws {
    let server = try RunningServer(ServerConfiguration(maxPendingInput: 1024))
    let client = try TestClient(port: server.port)
    try client.send("ECHO ok\n" + String(repeating: "a", count: 3000))
    #expect(try client.readLine() == "ok")
    #expect(try client.readLine() == "ERR request too long (limit 1024 bytes); closing connection")
    #expect(client.waitForClose(timeout: .seconds(2)))
    #expect(server.stop() != nil)
  }

  @Test func idleConnectionIsClosed() throws {
    let server = try RunningServer(ServerConfiguration(idleTimeout: .seconds(1)))
    let start = ContinuousClock.now
    let idle = try TestClient(port: server.port)
    let active = try TestClient(port: server.port)

    // The active client sends a request every 200 ms until the idle one is closed.
    var idleClosedAfter: Duration?
    var exchanges = 0
    while start.duration(to: .now) < .seconds(3) {
      try active.send("ECHO \(exchanges)\n")
      #expect(try active.readLine() == String(exchanges))
      exchanges += 1
      if idle.waitForClose(timeout: .milliseconds(200)) {
        idleClosedAfter = start.duration(to: .now)
        break
      }
    }

    let closedAfter = try #require(idleClosedAfter, "idle connection still open after 3 s")
    #expect(closedAfter >= .milliseconds(950))
    #expect(closedAfter < .seconds(2))
    // The active connection has now lived longer than the timeout and still works.
    try active.send("ECHO still-open\n")
    #expect(try active.readLine() == "still-open")
    #expect(server.stop() != nil)
  }

  @Test func incompleteRequestIsAnsweredAndClosed() throws {
    let server = try RunningServer(
      ServerConfiguration(idleTimeout: .seconds(10), requestTimeout: .milliseconds(600)))
    let start = ContinuousClock.now
    let trickling = try TestClient(port: server.port)
    let pipelining = try TestClient(port: server.port)
    try trickling.send("ECHO done\nECHO ")
    #expect(try trickling.readLine() == "done")

    // One byte each 100 ms keeps the trickling client from being idle. The pipelining
    // client always leaves half a request behind, yet completes one each 100 ms.
    var timeoutReply: (line: String, after: Duration)?
    var exchanges = 0
    try pipelining.send("ECHO ")
    while start.duration(to: .now) < .seconds(3) && timeoutReply == nil {
      try? trickling.send("x")
      try pipelining.send("\(exchanges)\nECHO ")
      #expect(try pipelining.readLine() == String(exchanges))
      exchanges += 1
      if let line = try? trickling.readLine(timeout: .milliseconds(100)) {
        timeoutReply = (line, start.duration(to: .now))
      }
    }
    let reply = try #require(timeoutReply, "the trickling client got no reply in 3 s")
    #expect(reply.line == "ERR request incomplete after 0.6 s; closing connection")
    #expect(reply.after >= .milliseconds(550))
    #expect(reply.after < .seconds(2))
    #expect(trickling.waitForClose(timeout: .seconds(1)))
    // The pipelining client has outlived the timeout with a request always incomplete.
    #expect(exchanges >= 5)
    try pipelining.send("last\n")
    #expect(try pipelining.readLine() == "last")
    #expect(server.stop() != nil)
  }

  @Test func slowClientDoesNotDelayOthers() throws {
    // One event loop, so the slow and the fast client share a thread.
    let server = try RunningServer(ServerConfiguration(eventLoops: 1))
    let slow = try TestClient(port: server.port)
    let fast = try TestClient(port: server.port)

    let slowRequest = Array("ECHO slow\n".utf8)
    let slowDone = DispatchSemaphore(value: 0)
    let slowThread = Thread {
      for byte in slowRequest {
        try? slow.send(bytes: [byte])
        usleep(200_000)
      }
      slowDone.signal()
    }
    slowThread.start()

    // Round trips while the slow request is still arriving.
    var slowest = Duration.zero
    for exchange in 0..<10 {
      let sent = ContinuousClock.now
      try fast.send("ADD \(exchange) 100\n")
      #expect(try fast.readLine(timeout: .seconds(1)) == String(exchange + 100))
      slowest = max(slowest, sent.duration(to: .now))
      usleep(100_000)
    }
    #expect(slowest < .milliseconds(100), "slowest fast round trip took \(slowest)")

    #expect(slowDone.wait(timeout: .now() + 5) == .success)
    #expect(try slow.readLine() == "slow")
    #expect(server.stop() != nil)
  }

  @Test func nonReadingClientIsBoundedByBackpressure() throws {
    let maxPendingOutput = 256 * 1024
    let server = try RunningServer(
      ServerConfiguration(maxPendingOutput: maxPendingOutput, eventLoops: 1))

    // A small receive buffer keeps the kernel from absorbing most of the responses.
    let hog = try TestClient(port: server.port, receiveBufferSize: 16 * 1024)
    let request = "REPEAT 1000\n"
    let requestCount = 20_000
    let writerDone = DispatchSemaphore(value: 0)
    let writer = Thread {
      // Blocks once the server stops reading; shutdown below wakes it.
      try? hog.send(String(repeating: request, count: requestCount))
      writerDone.signal()
    }
    writer.start()

    #expect(
      waitUntil(timeout: .seconds(10)) { server.server.bufferedOutputBytes >= maxPendingOutput })

    // Other clients are served while the hog's output is backed up.
    let other = try TestClient(port: server.port)
    try other.send("ECHO served\n")
    #expect(try other.readLine(timeout: .seconds(1)) == "served")

    // One slice of input at most adds its responses past the limit.
    let responseLength = 1001
    let sliceRequests = Connection.inputSliceLength / request.utf8.count + 1
    let bound = maxPendingOutput + sliceRequests * responseLength
    #expect(server.server.bufferedOutputBytes <= bound)
    #expect(server.server.peakConnectionOutputBytes <= bound)

    // Closing the hog frees its output.
    hog.shutdownBoth()
    #expect(writerDone.wait(timeout: .now() + 5) == .success)
    hog.close()
    #expect(waitUntil { server.server.bufferedOutputBytes == 0 })
    #expect(waitUntil { server.server.openConnectionCount == 1 })
    try other.send("ECHO after\n")
    #expect(try other.readLine() == "after")
    #expect(server.stop() != nil)
  }

  // MARK: - Shutdown and binding

  @Test func stopClosesConnectedClients() throws {
    let server = try RunningServer(ServerConfiguration(eventLoops: 2))
    let clients = try (0..<5).map { _ in try TestClient(port: server.port) }
    for client in clients {
      try client.send("ECHO up\n")
      #expect(try client.readLine() == "up")
    }
    // One client has sent half a request.
    try clients[0].send("ECHO unfinished")

    let stopTime = try #require(server.stop(), "run() did not return within 5 s")
    #expect(stopTime < .milliseconds(500))
    for client in clients {
      #expect(client.waitForClose(timeout: .seconds(1)))
    }
    #expect(server.server.openConnectionCount == 0)
    #expect(throws: (any Error).self) { try TestClient(port: server.port) }
  }

  @Test func stopSendsPendingOutputFirst() throws {
    let server = try RunningServer()
    // 8 MB of responses, more than the kernel buffers hold while the client waits, given
    // the client's small receive buffer.
    let client = try TestClient(port: server.port, receiveBufferSize: 16 * 1024)
    try client.send(String(repeating: "REPEAT 10000\n", count: 800))
    #expect(waitUntil { server.server.bufferedOutputBytes > 0 })

    let stopped = DispatchSemaphore(value: 0)
    let stopper = Thread {
      _ = server.stop()
      stopped.signal()
    }
    stopper.start()
    let responses = try client.readLines(800)
    #expect(responses.allSatisfy { $0.utf8.count == 10_000 })
    #expect(client.waitForClose(timeout: .seconds(2)))
    #expect(stopped.wait(timeout: .now() + 5) == .success)
  }

  @Test func stopGivesUpOnNonReadingClient() throws {
    let server = try RunningServer(
      ServerConfiguration(eventLoops: 1, shutdownGracePeriod: .milliseconds(300)))
    let client = try TestClient(port: server.port, receiveBufferSize: 16 * 1024)
    try client.send(String(repeating: "REPEAT 10000\n", count: 500))
    #expect(waitUntil { server.server.bufferedOutputBytes > 0 })

    let stopTime = try #require(server.stop(), "run() did not return within 5 s")
    #expect(stopTime >= .milliseconds(250))
    #expect(stopTime < .seconds(1))
    #expect(server.server.bufferedOutputBytes == 0)
  }

  @Test func stopBeforeRunReturnsAtOnce() throws {
    let server = try TCPServer(configuration: ServerConfiguration(), logger: testLogger) { _ in
      LineTestHandler()
    }
    server.stop()
    let start = ContinuousClock.now
    server.run()
    #expect(start.duration(to: .now) < .milliseconds(100))
  }

  @Test func bindingUsedPortThrows() throws {
    let server = try RunningServer()
    let configuration = ServerConfiguration(port: server.port)
    let error = #expect(throws: ServerError.self) {
      try TCPServer(configuration: configuration, logger: testLogger) { _ in LineTestHandler() }
    }
    let description = error.map { "\($0)" } ?? ""
    #expect(description.contains("127.0.0.1:\(server.port)"))
    #expect(description.contains("Address already in use"))
    #expect(server.stop() != nil)
  }

  @Test func invalidConfigurationThrows() {
    let error = #expect(throws: ServerError.self) {
      try TCPServer(configuration: ServerConfiguration(maxConnections: 0), logger: testLogger) {
        _ in LineTestHandler()
      }
    }
    #expect(error.map { "\($0)" }?.contains("maxConnections is 0") == true)
  }
}

// MARK: - Test protocol

private let testLogger = Logger(label: "tcp-test", threshold: .error)

/// A line protocol for the tests. `ECHO text` returns `text`, `ADD a b` returns the sum, and
/// `REPEAT n` returns a line of `n` x characters. `QUIT` returns `BYE` and closes the
/// connection. Any other line gets an `ERR` line.
private final class LineTestHandler: ConnectionHandler {
  func process(_ input: UnsafeRawBufferPointer, into output: inout [UInt8])
    -> (consumed: Int, close: Bool)
  {
    var start = 0
    while let newline = input[start...].firstIndex(of: UInt8(ascii: "\n")) {
      let line = String(decoding: input[start..<newline], as: UTF8.self)
      start = newline + 1
      if respond(to: line, into: &output) { return (start, true) }
    }
    return (start, false)
  }

  /// Appends the response to one line; returns true for `QUIT`.
  private func respond(to line: String, into output: inout [UInt8]) -> Bool {
    let words = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
    let argument = words.count > 1 ? String(words[1]) : ""
    switch words.first ?? "" {
    case "ECHO":
      output.append(contentsOf: argument.utf8)
    case "ADD":
      let operands = argument.split(separator: " ").compactMap { Int($0) }
      if operands.count == 2 {
        output.append(contentsOf: String(operands[0] + operands[1]).utf8)
      } else {
        output.append(contentsOf: "ERR usage: ADD a b".utf8)
      }
    case "REPEAT":
      output.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: Int(argument) ?? 0))
    case "QUIT":
      output.append(contentsOf: "BYE\n".utf8)
      return true
    default:
      output.append(contentsOf: "ERR unknown command".utf8)
    }
    output.append(UInt8(ascii: "\n"))
    return false
  }
}

// MARK: - Server and client helpers

/// A `TCPServer` whose `run()` executes on a thread of its own.
private final class RunningServer: Sendable {
  let server: TCPServer
  private let finished = DispatchSemaphore(value: 0)

  init(
    _ configuration: ServerConfiguration = ServerConfiguration(),
    makeHandler: @escaping @Sendable (ConnectionInfo) -> any ConnectionHandler = { _ in
      LineTestHandler()
    }
  ) throws {
    server = try TCPServer(
      configuration: configuration, logger: testLogger, makeHandler: makeHandler)
    let thread = Thread { [server, finished] in
      server.run()
      finished.signal()
    }
    thread.start()
  }

  var port: Int { server.boundPort }

  /// Stops the server and waits for `run()` to return.
  ///
  /// - Returns: the time `run()` took to return, or nil if it did not within 5 s.
  @discardableResult
  func stop() -> Duration? {
    let start = ContinuousClock.now
    server.stop()
    guard finished.wait(timeout: .now() + 5) == .success else { return nil }
    finished.signal()
    return start.duration(to: .now)
  }
}

private struct TestClientError: Error, CustomStringConvertible {
  let description: String
}

/// A blocking TCP client on 127.0.0.1 whose reads wait at most a given time.
private final class TestClient: @unchecked Sendable {
  // NOTE: @unchecked because tests share a client between at most two threads, one that
  // only sends and one that only reads, and the socket calls themselves are thread-safe.
  let socket: Int32
  private var received: [UInt8] = []
  private var receivedStart = 0
  private var reachedEnd = false

  init(port: Int, receiveBufferSize: Int32? = nil) throws {
    socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard socket >= 0 else { throw TestClientError(description: "socket: errno \(errno)") }
    if var size = receiveBufferSize {
      setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let status = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard status == 0 else {
      let code = errno
      Glibc.close(socket)
      throw TestClientError(description: "connect to port \(port): errno \(code)")
    }
  }

  deinit { close() }

  var localPort: Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        getsockname(socket, $0, &length)
      }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  func send(_ text: String) throws {
    try send(bytes: Array(text.utf8))
  }

  func send(bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeBytes { buffer in
        Glibc.send(socket, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
      }
      if count < 0 {
        if errno == EINTR { continue }
        throw TestClientError(description: "send: errno \(errno)")
      }
      offset += count
    }
  }

  /// Reads one line without its newline, or returns nil at end of input.
  func readLine(timeout: Duration = .seconds(5)) throws -> String? {
    let deadline = ContinuousClock.now + timeout
    while true {
      if let newline = received[receivedStart...].firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: received[receivedStart..<newline], as: UTF8.self)
        receivedStart = newline + 1
        if receivedStart > 1 << 16 {
          received.removeFirst(receivedStart)
          receivedStart = 0
        }
        return line
      }
      if reachedEnd { return nil }
      try receive(before: deadline)
    }
  }

  /// Reads `count` lines, failing if the connection ends first.
  func readLines(_ count: Int, timeout: Duration = .seconds(5)) throws -> [String] {
    var lines: [String] = []
    while lines.count < count {
      guard let line = try readLine(timeout: timeout) else {
        throw TestClientError(description: "connection closed after \(lines.count) lines")
      }
      lines.append(line)
    }
    return lines
  }

  /// Reads and discards input until the server closes the connection.
  ///
  /// - Returns: whether the connection ended before `timeout`.
  func waitForClose(timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !reachedEnd {
      do {
        try receive(before: deadline)
      } catch {
        return false
      }
      received.removeAll(keepingCapacity: true)
      receivedStart = 0
    }
    return true
  }

  func shutdownOutput() { Glibc.shutdown(socket, Int32(SHUT_WR)) }

  /// Shuts down both directions, which wakes a thread blocked in `send`.
  func shutdownBoth() { Glibc.shutdown(socket, Int32(SHUT_RDWR)) }

  func close() {
    if socket >= 0 { Glibc.close(socket) }
  }

  /// Waits for input until `deadline` and appends it; sets `reachedEnd` on end of input or
  /// a reset.
  private func receive(before deadline: ContinuousClock.Instant) throws {
    let remaining = ContinuousClock.now.duration(to: deadline)
    guard remaining > .zero else { throw TestClientError(description: "read timed out") }
    var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
    let milliseconds =
      Int32(remaining.components.seconds * 1000)
      + Int32(remaining.components.attoseconds / 1_000_000_000_000_000) + 1
    let ready = poll(&descriptor, 1, milliseconds)
    if ready == 0 || (ready < 0 && errno == EINTR) { return }
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    let count = recv(socket, &chunk, chunk.count, 0)
    if count > 0 {
      received.append(contentsOf: chunk[0..<count])
    } else if count == 0 || errno == ECONNRESET {
      reachedEnd = true
    } else if errno != EINTR && errno != EAGAIN {
      throw TestClientError(description: "recv: errno \(errno)")
    }
  }
}
