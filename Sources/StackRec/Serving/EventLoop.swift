import CLinux
import Glibc

/// One thread's share of a `TCPServer`: an epoll instance, the connections registered with
/// it and, on the first loop only, the listening socket.
///
/// Readiness is level-triggered. A readable connection gets one `recv` of at most
/// `readChunkLength` bytes per wake-up, so a client that sends without pause cannot starve
/// the others, and the kernel reports it again while bytes remain. Output is sent as soon
/// as the handler produces it; what the kernel does not take waits for `EPOLLOUT`.
///
/// Not thread-safe: `run()` and everything it calls use one thread. Other threads reach the
/// loop only through its `EventLoopHandle`.
final class EventLoop {
  /// The epoll token of the listening socket. Connection tokens are connection ids, which
  /// count up from 1 and never reach this value or `EventLoopHandle.wakeToken`.
  static let listenerToken = UInt64.max - 1

  private static let readChunkLength = 64 * 1024
  private static let eventBatchLength = 256
  private static let acceptBatchLimit = 64
  private static let acceptRetryDelay = Duration.milliseconds(100)

  private let index: Int
  private let localAddress: SocketAddress
  private let handles: [EventLoopHandle]
  private var handle: EventLoopHandle { handles[index] }
  private let configuration: ServerConfiguration
  private let state: ServerState
  private let makeHandler: @Sendable (ConnectionInfo) -> any ConnectionHandler
  private let logger: Logger
  private var limiter: LogRepeatLimiter

  /// The listening socket, on the first loop until shutdown begins; this loop closes it.
  private var listener: Int32?
  private var acceptResumeTime: ContinuousClock.Instant?
  private var nextTargetLoop = 0
  private var nextConnectionID: UInt64 = 1

  private var connections: [UInt64: Connection] = [:]

  /// No connection can have been idle for `idleTimeout`, or have held an incomplete
  /// request for `requestTimeout`, before this time.
  private var nextIdleCheck: ContinuousClock.Instant?

  /// Set once shutdown begins: the time when remaining connections are closed regardless
  /// of unsent output.
  private var shutdownDeadline: ContinuousClock.Instant?

  private let readBuffer: UnsafeMutableRawBufferPointer
  private let events: UnsafeMutableBufferPointer<epoll_event>

  /// - Parameters:
  ///   - index: this loop's position in `handles`.
  ///   - listener: the listening socket, already registered with this loop's epoll instance
  ///     under `listenerToken`; nil for every loop but the accepting one.
  init(
    index: Int, handles: [EventLoopHandle], listener: Int32?, localAddress: SocketAddress,
    configuration: ServerConfiguration, state: ServerState, logger: Logger,
    makeHandler: @escaping @Sendable (ConnectionInfo) -> any ConnectionHandler
  ) {
    self.index = index
    self.handles = handles
    self.listener = listener
    self.localAddress = localAddress
    self.configuration = configuration
    self.state = state
    self.logger = logger
    self.limiter = LogRepeatLimiter(logger: logger)
    self.makeHandler = makeHandler
    readBuffer = .allocate(byteCount: Self.readChunkLength, alignment: 16)
    events = .allocate(capacity: Self.eventBatchLength)
  }

  deinit {
    readBuffer.deallocate()
    events.deallocate()
  }

  /// Serves connections until the server stops and every connection of this loop is closed.
  func run() {
    while true {
      let now = ContinuousClock.now
      if shutdownDeadline == nil && state.isStopping.load(ordering: .acquiring) {
        beginShutdown(now: now)
      }
      if let deadline = shutdownDeadline, connections.isEmpty || now >= deadline {
        closeRemainingConnections()
        break
      }
      runTimers(now: now)

      let count: Int
      do {
        count = try SystemCall.epollWait(
          handle.epoll, into: events, timeoutMilliseconds: waitTimeout(now: now))
      } catch {
        // Apart from EINTR, which the wrapper absorbs, epoll_wait(2) fails only with EBADF,
        // EFAULT or EINVAL, and each of those means a bug in this loop.
        preconditionFailure("event loop \(index): \(error)")
      }

      let eventTime = ContinuousClock.now
      for event in events[0..<count] {
        dispatch(token: event.data.u64, events: event.events, now: eventTime)
      }
    }
    limiter.reportAllRepeats()
  }

  private func dispatch(token: UInt64, events: UInt32, now: ContinuousClock.Instant) {
    switch token {
    case EventLoopHandle.wakeToken:
      SystemCall.eventReset(handle.wakeEvent)
      registerQueuedSockets(now: now)
    case Self.listenerToken:
      acceptConnections(now: now)
    default:
      // A connection closed earlier in this batch leaves no entry.
      if let connection = connections[token] {
        service(connection, events: events, now: now)
      }
    }
  }

  private func runTimers(now: ContinuousClock.Instant) {
    if let check = nextIdleCheck, now >= check { closeIdleConnections(now: now) }
    if let resume = acceptResumeTime, now >= resume { resumeAccepting() }
    if let report = limiter.nextReport, now >= report { limiter.reportRepeats(now: now) }
  }

  /// Computes the milliseconds until the earliest timer, rounded up, or -1 when no timer is
  /// set.
  private func waitTimeout(now: ContinuousClock.Instant) -> Int32 {
    var earliest: ContinuousClock.Instant?
    for timer in [nextIdleCheck, shutdownDeadline, acceptResumeTime, limiter.nextReport] {
      if let timer { earliest = min(earliest ?? timer, timer) }
    }
    guard let earliest else { return -1 }
    let remaining = now.duration(to: earliest)
    guard remaining > .zero else { return 0 }
    let (seconds, attoseconds) = remaining.components
    let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
    let milliseconds =
      min(seconds, 86_400) * 1000
      + (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
    return Int32(milliseconds)
  }

  // MARK: - Accepting

  /// Accepts waiting connections, up to `acceptBatchLimit`, and hands them to the loops in
  /// turn. Above `maxConnections` open connections a new one is rejected instead.
  private func acceptConnections(now: ContinuousClock.Instant) {
    guard let listener else { return }
    for _ in 0..<Self.acceptBatchLimit {
      let accepted: (Int32, RawSocketAddress)?
      do {
        accepted = try SystemCall.accept(listener)
      } catch {
        switch error.code {
        case ECONNABORTED, EPROTO:
          // The client gave up before the connection was accepted.
          continue
        default:
          // EMFILE, ENFILE, ENOBUFS and ENOMEM leave the connection waiting, so the listener
          // stays readable. A pause keeps the loop from spinning until resources free up.
          limiter.log(
            .error, "cannot accept connections: \(error); retrying in 100 ms",
            ["address": localAddress], now: now)
          pauseAccepting(now: now)
          return
        }
      }
      guard let (socket, rawPeer) = accepted else { return }

      let peer = rawPeer.socketAddress
      if state.openConnections.load(ordering: .relaxed) >= configuration.maxConnections {
        reject(socket, peer: peer, now: now)
        continue
      }
      state.openConnections.add(1, ordering: .relaxed)

      // Responses are written whole, so Nagle's algorithm would only delay the last segment.
      do {
        try SystemCall.setOption(socket, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
      } catch {
        limiter.log(
          .warning, "cannot disable Nagle's algorithm: \(error)", ["peer": peer], now: now)
      }

      let connection = AcceptedSocket(
        descriptor: socket, info: ConnectionInfo(id: nextConnectionID, peer: peer))
      nextConnectionID += 1
      let target = nextTargetLoop
      nextTargetLoop = (nextTargetLoop + 1) % handles.count
      if target == index {
        register(connection, now: now)
      } else {
        handles[target].hand(connection)
      }
    }
  }

  /// Sends the too-many-connections line to a new socket and closes it.
  private func reject(_ socket: Int32, peer: SocketAddress, now: ContinuousClock.Instant) {
    state.rejectedConnections.add(1, ordering: .relaxed)
    let line = "ERR too many connections (limit \(configuration.maxConnections)); try again later\n"
    // NOTE: The socket is new, so its send buffer has room for the whole line. If the client
    // has already sent bytes, close() sends a reset, which can discard the line before
    // the client reads it.
    _ = Array(line.utf8).withUnsafeBytes { buffer in
      try? SystemCall.send(socket, from: buffer)
    }
    try? SystemCall.shutdownOutput(socket)
    SystemCall.close(socket)
    limiter.log(
      .warning, "rejected connection: too many connections",
      ["peer": peer, "limit": configuration.maxConnections], now: now)
  }

  private func pauseAccepting(now: ContinuousClock.Instant) {
    guard let listener else { return }
    try? SystemCall.epollControl(
      handle.epoll, EPOLL_CTL_MOD, listener, events: 0, token: Self.listenerToken)
    acceptResumeTime = now + Self.acceptRetryDelay
  }

  private func resumeAccepting() {
    acceptResumeTime = nil
    guard let listener else { return }
    try? SystemCall.epollControl(
      handle.epoll, EPOLL_CTL_MOD, listener, events: EventMask.readable,
      token: Self.listenerToken)
  }

  // MARK: - Connections

  private func registerQueuedSockets(now: ContinuousClock.Instant) {
    for socket in handle.takeQueuedSockets() {
      if shutdownDeadline != nil {
        SystemCall.close(socket.descriptor)
        state.openConnections.subtract(1, ordering: .relaxed)
      } else {
        register(socket, now: now)
      }
    }
  }

  private func register(_ accepted: AcceptedSocket, now: ContinuousClock.Instant) {
    let id = accepted.info.id
    let peer = accepted.info.peer
    do {
      try SystemCall.epollControl(
        handle.epoll, EPOLL_CTL_ADD, accepted.descriptor, events: EventMask.readable, token: id)
    } catch {
      limiter.log(
        .error, "cannot register connection: \(error)", ["connection": id, "peer": peer],
        now: now)
      SystemCall.close(accepted.descriptor)
      state.openConnections.subtract(1, ordering: .relaxed)
      return
    }

    let connection = Connection(
      socket: accepted.descriptor, info: accepted.info, handler: makeHandler(accepted.info),
      state: state, registeredEvents: EventMask.readable, now: now)
    connections[id] = connection
    let idleDeadline = now + configuration.idleTimeout
    nextIdleCheck = min(nextIdleCheck ?? idleDeadline, idleDeadline)
    logger.debug("opened connection", ["connection": id, "peer": peer, "loop": index])
  }

  /// Handles the events that epoll reported for one connection.
  private func service(_ connection: Connection, events: UInt32, now: ContinuousClock.Instant) {
    if events & EventMask.error != 0 {
      // The error belongs to no single call, so it is reported as the connection's.
      let error = SystemCallError(
        operation: "TCP connection", code: SystemCall.pendingError(connection.socket))
      logFailure(of: connection, error, now: now)
      close(connection, reason: "socket error")
      return
    }
    if events & EventMask.hangUp != 0 {
      // The connection is reset or shut down both ways, so the peer cannot read responses.
      close(connection, reason: "peer hung up")
      return
    }
    if events & EventMask.readable != 0 && wantsInput(connection) {
      guard receive(connection, now: now) else { return }
    }
    pump(connection, now: now)
  }

  private func wantsInput(_ connection: Connection) -> Bool {
    connection.inputState == .open && !connection.isOutputBackedUp && shutdownDeadline == nil
  }

  /// Reads once from the socket into the connection's input.
  ///
  /// - Returns: false when the read failed and the connection was closed.
  private func receive(_ connection: Connection, now: ContinuousClock.Instant) -> Bool {
    // Reading at most one byte past the limit keeps the input within maxPendingInput + 1.
    let room = configuration.maxPendingInput + 1 - connection.pendingInputCount
    let length = max(1, min(readBuffer.count, room))
    do {
      let buffer = UnsafeMutableRawBufferPointer(rebasing: readBuffer[0..<length])
      switch try SystemCall.receive(connection.socket, into: buffer) {
      case .transferred(let count):
        connection.appendInput(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
        connection.lastActivity = now
      case .endOfInput:
        connection.markPeerFinished()
      case .wouldBlock:
        break
      }
      return true
    } catch {
      logFailure(of: connection, error, now: now)
      close(connection, reason: "receive failed")
      return false
    }
  }

  /// Passes held input to the handler and sends output until the socket would block, then
  /// closes the connection if it is done, or else updates its epoll events.
  ///
  /// Backpressure: processing stops once unsent output reaches `maxPendingOutput`. If the
  /// kernel then takes enough output, processing goes on at once. Otherwise
  /// `isOutputBackedUp` keeps reading and processing off until the output falls to half the
  /// limit.
  private func pump(_ connection: Connection, now: ContinuousClock.Instant) {
    let outputLimit = configuration.maxPendingOutput
    while true {
      var result = Connection.ProcessingResult.needsInput
      if !connection.isOutputBackedUp {
        result = connection.processInput(outputLimit: outputLimit, now: now)
        if result == .needsInput && connection.pendingInputCount > configuration.maxPendingInput {
          limiter.log(
            .warning, "closing connection: unconsumed input exceeds the limit",
            [
              "connection": connection.info.id, "peer": connection.info.peer,
              "bytes": connection.pendingInputCount, "limit": configuration.maxPendingInput,
            ], now: now)
          connection.rejectOverlongInput(limit: configuration.maxPendingInput)
        }
      }

      if connection.pendingOutputCount > 0 {
        do {
          if try connection.flushOutput() > 0 { connection.lastActivity = now }
        } catch {
          logFailure(of: connection, error, now: now)
          close(connection, reason: "send failed")
          return
        }
      }

      if connection.pendingOutputCount >= outputLimit {
        connection.isOutputBackedUp = true
        break
      }
      if connection.isOutputBackedUp {
        guard connection.pendingOutputCount <= outputLimit / 2 else { break }
        connection.isOutputBackedUp = false
        if connection.pendingInputCount > 0 { continue }
        break
      }
      // The send made room for input that processing had to leave.
      if result == .outputFull { continue }
      break
    }

    if connection.pendingOutputCount == 0 {
      switch connection.inputState {
      case .open:
        break
      case .peerFinished:
        // Output is empty and not backed up, so every complete request has had its response
        // sent.
        // NOTE: Bytes after the last complete request are dropped without a response,
        // because ConnectionHandler has no call for end of input.
        close(connection, reason: "peer closed")
        return
      case .finished(let reason):
        close(connection, reason: reason)
        return
      }
    }
    if let since = connection.partialRequestSince {
      let deadline = since + configuration.requestTimeout
      nextIdleCheck = min(nextIdleCheck ?? deadline, deadline)
    }
    updateEvents(of: connection, now: now)
  }

  private func updateEvents(of connection: Connection, now: ContinuousClock.Instant) {
    var events: UInt32 = 0
    if wantsInput(connection) { events |= EventMask.readable }
    if connection.pendingOutputCount > 0 { events |= EventMask.writable }
    guard events != connection.registeredEvents else { return }
    do {
      try SystemCall.epollControl(
        handle.epoll, EPOLL_CTL_MOD, connection.socket, events: events,
        token: connection.info.id)
      connection.registeredEvents = events
    } catch {
      logFailure(of: connection, error, now: now)
      close(connection, reason: "epoll_ctl failed")
    }
  }

  /// Closes connections idle for `idleTimeout`. Sends the handler's timeout reply to those
  /// that held an incomplete request for `requestTimeout`, then closes them.
  private func closeIdleConnections(now: ContinuousClock.Instant) {
    var next: ContinuousClock.Instant?
    for connection in Array(connections.values) {
      let idleDeadline = connection.lastActivity + configuration.idleTimeout
      if idleDeadline <= now {
        close(connection, reason: "idle timeout")
        continue
      }
      next = min(next ?? idleDeadline, idleDeadline)
      guard let since = connection.partialRequestSince else { continue }
      let requestDeadline = since + configuration.requestTimeout
      if requestDeadline > now {
        next = min(next ?? requestDeadline, requestDeadline)
      } else {
        limiter.log(
          .warning, "closing connection: request incomplete",
          [
            "connection": connection.info.id, "peer": connection.info.peer,
            "bytes": connection.pendingInputCount,
          ], now: now)
        connection.rejectIncompleteRequest(after: configuration.requestTimeout)
        // Sends the response and closes, or waits to send it within the idle timeout.
        pump(connection, now: now)
      }
    }
    nextIdleCheck = next
  }

  private func close(_ connection: Connection, reason: String) {
    let unsent = connection.pendingOutputCount
    SystemCall.close(connection.socket)
    connection.releaseBuffers()
    connections[connection.info.id] = nil
    state.openConnections.subtract(1, ordering: .relaxed)
    var metadata: [String: any CustomStringConvertible] = [
      "connection": connection.info.id, "peer": connection.info.peer, "reason": reason,
    ]
    if unsent > 0 { metadata["unsent_bytes"] = unsent }
    logger.debug("closed connection", metadata)
  }

  private func logFailure(
    of connection: Connection, _ error: SystemCallError, now: ContinuousClock.Instant
  ) {
    limiter.log(
      .warning, "closing connection: \(error)",
      ["connection": connection.info.id, "peer": connection.info.peer], now: now)
  }

  // MARK: - Shutdown

  /// Stops accepting and reading, and closes every connection without unsent output. The
  /// others stay open until their output is sent or the grace period ends.
  private func beginShutdown(now: ContinuousClock.Instant) {
    shutdownDeadline = now + configuration.shutdownGracePeriod
    if let listener {
      SystemCall.close(listener)
      self.listener = nil
      acceptResumeTime = nil
    }
    registerQueuedSockets(now: now)
    for connection in Array(connections.values) {
      connection.finishInput(reason: "server stopping")
      if connection.pendingOutputCount == 0 {
        close(connection, reason: "server stopping")
      } else {
        updateEvents(of: connection, now: now)
      }
    }
  }

  private func closeRemainingConnections() {
    guard !connections.isEmpty else { return }
    let unsent = connections.values.reduce(0) { $0 + $1.pendingOutputCount }
    logger.warning(
      "closing connections with unsent output after the shutdown grace period",
      [
        "connections": connections.count, "unsent_bytes": unsent,
        "grace_period": formatSeconds(configuration.shutdownGracePeriod.inSeconds),
      ])
    for connection in Array(connections.values) {
      close(connection, reason: "shutdown grace period ended")
    }
  }
}

extension Duration {
  /// The duration as a number of seconds.
  var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
