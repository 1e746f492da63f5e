import CLinux
import Dispatch
import Foundation
import Glibc
import Synchronization

/// A TCP server that moves bytes between sockets and one `ConnectionHandler` per
/// connection, on a fixed number of event-loop threads. The protocol lives in the handler.
///
/// Threads: `run()` starts `eventLoops - 1` threads and serves as the first loop on the
/// calling thread. Each loop has its own epoll instance; a connection stays on one loop for
/// its whole life, so its handler is never called concurrently.
///
/// Accepting: the first loop owns the only listening socket. It accepts every connection,
/// enforces `maxConnections`, and hands connections to the loops in turn (itself included)
/// through each loop's queue and eventfd. One acceptor keeps the connection count exact and
/// the ids in accept order. Listeners with `SO_REUSEPORT` on every loop would spread accepts
/// without a hand-off, but they would also let another process bind the same port.
///
/// Backpressure: when a connection's unsent output reaches `maxPendingOutput`, the server
/// stops reading from it and stops passing its input to the handler, until the client has
/// read enough that half the limit remains. Input goes to the handler in slices of
/// `Connection.inputSliceLength` bytes, so one connection buffers at most about
/// `maxPendingOutput` plus the responses to one slice.
///
/// ```swift
/// let server = try TCPServer(configuration: .init(port: 7070), logger: logger) { info in
///   EchoHandler()
/// }
/// let thread = Thread { server.run() }
/// thread.start()
/// // Later, from any thread:
/// server.stop()
/// ```
public final class TCPServer: Sendable {
  private enum Lifecycle {
    case ready, running, stopping, finished
  }

  public let configuration: ServerConfiguration

  /// The address the listening socket is bound to, with the port the system chose when
  /// `configuration.port` is 0.
  public let localAddress: SocketAddress

  private let logger: Logger
  private let makeHandler: @Sendable (ConnectionInfo) -> any ConnectionHandler
  private let listener: Int32
  private let loops: [EventLoopHandle]
  private let lifecycle = Mutex(Lifecycle.ready)
  let state = ServerState()

  /// Binds the listening socket and prepares the event loops; no thread starts yet.
  ///
  /// - Parameters:
  ///   - makeHandler: called on a connection's event-loop thread when the connection is
  ///     registered, to create the handler for that connection only.
  /// - Throws: `ServerError` naming the address when the host does not resolve or the
  ///   socket cannot be bound (address in use, no permission, not a local address), or
  ///   naming the value when the configuration is out of range.
  public init(
    configuration: ServerConfiguration, logger: Logger,
    makeHandler: @escaping @Sendable (ConnectionInfo) -> any ConnectionHandler
  ) throws(ServerError) {
    try configuration.validate()
    let requested = SocketAddress.format(host: configuration.host, port: configuration.port)
    let address = try RawSocketAddress.resolve(host: configuration.host, port: configuration.port)

    let socket: Int32
    do {
      socket = try SystemCall.socket(family: address.family)
    } catch {
      throw .listenFailed(address: requested, cause: error)
    }
    do {
      // SO_REUSEADDR lets a restarted server bind while old connections are in TIME_WAIT;
      // it does not allow a second listener on the port.
      try SystemCall.setOption(socket, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
      try SystemCall.bind(socket, to: address)
      try SystemCall.listen(socket, backlog: SOMAXCONN)
      localAddress = try SystemCall.localAddress(socket).socketAddress
    } catch {
      SystemCall.close(socket)
      throw .listenFailed(address: requested, cause: error)
    }

    do {
      var handles: [EventLoopHandle] = []
      for _ in 0..<configuration.eventLoops {
        handles.append(try EventLoopHandle())
      }
      try SystemCall.epollControl(
        handles[0].epoll, EPOLL_CTL_ADD, socket, events: EventMask.readable,
        token: EventLoop.listenerToken)
      loops = handles
    } catch {
      SystemCall.close(socket)
      throw .eventLoopSetupFailed(cause: error)
    }

    listener = socket
    self.configuration = configuration
    self.logger = logger
    self.makeHandler = makeHandler
  }

  deinit {
    // After run() the first loop has closed the listener, and stop() closes it when the
    // server never ran.
    if lifecycle.withLock({ $0 }) == .ready {
      SystemCall.close(listener)
    }
  }

  /// The TCP port the server listens on.
  public var boundPort: Int { localAddress.port }

  /// Serves connections on the calling thread and `eventLoops - 1` new threads, and returns
  /// once `stop()` has closed every connection.
  ///
  /// Returns at once when `stop()` came first. Calling `run()` while it is already running
  /// traps.
  public func run() {
    let starts = lifecycle.withLock { stage -> Bool in
      switch stage {
      case .ready:
        stage = .running
        return true
      case .finished:
        return false
      case .running, .stopping:
        preconditionFailure("TCPServer.run() called on a server that is already running")
      }
    }
    guard starts else { return }
    logger.info(
      "listening",
      [
        "address": localAddress, "event_loops": loops.count,
        "max_connections": configuration.maxConnections,
      ])

    let finished = DispatchGroup()
    for index in 1..<loops.count {
      finished.enter()
      let thread = Thread { [self] in
        makeLoop(index: index, listener: nil).run()
        finished.leave()
      }
      thread.name = "tcp-event-loop-\(index)"
      thread.start()
    }
    makeLoop(index: 0, listener: listener).run()
    finished.wait()

    // The accepting loop may hand a socket to a loop that has already exited.
    for loop in loops {
      for socket in loop.takeQueuedSockets() {
        SystemCall.close(socket.descriptor)
        state.openConnections.subtract(1, ordering: .relaxed)
      }
    }
    lifecycle.withLock { $0 = .finished }
    logger.info("stopped", ["address": localAddress])
  }

  /// Stops the server: it stops accepting and reading, sends the output already produced,
  /// closes every connection and makes `run()` return.
  ///
  /// Input that was received but not yet processed, such as requests held back by
  /// backpressure, is dropped without a response.
  ///
  /// Connections whose output is still unsent after `shutdownGracePeriod` are closed anyway.
  /// Callable from any thread, including a signal-handling thread, and more than once.
  /// Returns without waiting for `run()`.
  public func stop() {
    let wakesLoops = lifecycle.withLock { stage -> Bool in
      switch stage {
      case .ready:
        stage = .finished
        SystemCall.close(listener)
        return false
      case .running:
        stage = .stopping
        state.isStopping.store(true, ordering: .releasing)
        return true
      case .stopping, .finished:
        return false
      }
    }
    guard wakesLoops else { return }
    logger.info(
      "stopping",
      [
        "address": localAddress, "open_connections": openConnectionCount,
        "grace_period": formatSeconds(configuration.shutdownGracePeriod.inSeconds),
      ])
    for loop in loops { loop.wake() }
  }

  private func makeLoop(index: Int, listener: Int32?) -> EventLoop {
    EventLoop(
      index: index, handles: loops, listener: listener, localAddress: localAddress,
      configuration: configuration, state: state, logger: logger, makeHandler: makeHandler)
  }

  /// Connections accepted and not yet closed.
  var openConnectionCount: Int { state.openConnections.load(ordering: .relaxed) }

  /// Bytes of responses that handlers produced and the kernel has not yet accepted, over all
  /// connections.
  var bufferedOutputBytes: Int { state.bufferedOutputBytes.load(ordering: .relaxed) }

  /// The maximum unsent output that one connection has held so far.
  var peakConnectionOutputBytes: Int {
    state.peakConnectionOutputBytes.load(ordering: .relaxed)
  }

  /// Connections rejected because `maxConnections` were open.
  var rejectedConnectionCount: Int { state.rejectedConnections.load(ordering: .relaxed) }
}

/// Flags and counters that the event loops of one server share.
final class ServerState: Sendable {
  /// Set by `TCPServer.stop()`. Each loop begins its shutdown when it reads the flag.
  let isStopping = Atomic<Bool>(false)

  /// Connections accepted and not yet closed, including those queued for a loop. Only the
  /// accepting loop increments it, so no other increment can slip between its check against
  /// `maxConnections` and its increment.
  let openConnections = Atomic<Int>(0)

  let bufferedOutputBytes = Atomic<Int>(0)
  let peakConnectionOutputBytes = Atomic<Int>(0)
  let rejectedConnections = Atomic<Int>(0)

  /// Raises `peakConnectionOutputBytes` to `bytes` if that is higher.
  func recordConnectionOutput(_ bytes: Int) {
    var peak = peakConnectionOutputBytes.load(ordering: .relaxed)
    while bytes > peak {
      let (exchanged, original) = peakConnectionOutputBytes.compareExchange(
        expected: peak, desired: bytes, ordering: .relaxed)
      if exchanged { return }
      peak = original
    }
  }
}
