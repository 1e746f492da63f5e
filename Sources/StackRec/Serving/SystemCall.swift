import CLinux
import Glibc

/// A system call that failed, with the `errno` value it set.
public struct SystemCallError: Error, Equatable, CustomStringConvertible {
  /// The C function that failed, such as `bind` or `epoll_wait`.
  public let operation: String

  /// The `errno` value the call left, such as `EADDRINUSE`.
  public let code: Int32

  public init(operation: String, code: Int32) {
    self.operation = operation
    self.code = code
  }

  /// The operation, the `strerror` text and the number, such as
  /// `bind failed: Address already in use (errno 98)`.
  public var description: String {
    "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
  }
}

/// The outcome of a non-blocking `recv` or `send` that did not fail.
enum TransferResult: Equatable {
  /// The call moved this many bytes, always more than zero.
  case transferred(Int)

  /// The socket has nothing to read or no room to write (`EAGAIN`).
  case wouldBlock

  /// The peer shut down its sending side: `recv` returned 0.
  case endOfInput
}

/// Thin wrappers over the socket, epoll and eventfd calls of the TCP server.
///
/// Each wrapper retries on `EINTR` where the call is safe to repeat and turns -1 into a
/// `SystemCallError` that names the C function.
enum SystemCall {
  /// Calls `body` again while it returns -1 with `errno` set to `EINTR`.
  ///
  /// - Throws: `SystemCallError` named `operation` when `body` returns -1 for any other
  ///   reason.
  @inline(__always)
  static func retryingInterrupts<Value: BinaryInteger>(
    _ operation: String, _ body: () -> Value
  ) throws(SystemCallError) -> Value {
    while true {
      let result = body()
      if result != -1 { return result }
      let code = errno
      if code != EINTR { throw SystemCallError(operation: operation, code: code) }
    }
  }

  // MARK: - Sockets

  /// Creates a non-blocking, close-on-exec TCP socket with `socket(2)`.
  static func socket(family: Int32) throws(SystemCallError) -> Int32 {
    let type =
      Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
      | Int32(SOCK_CLOEXEC.rawValue)
    return try retryingInterrupts("socket") { Glibc.socket(family, type, 0) }
  }

  /// Sets an integer socket option with `setsockopt(2)`.
  static func setOption(
    _ socket: Int32, level: Int32, name: Int32, value: Int32
  ) throws(SystemCallError) {
    var value = value
    let size = socklen_t(MemoryLayout<Int32>.size)
    _ = try retryingInterrupts("setsockopt") {
      setsockopt(socket, level, name, &value, size)
    }
  }

  /// Reads and clears the pending error of a socket (`getsockopt` with `SO_ERROR`).
  ///
  /// - Returns: the `errno` value of the error, or 0 when none is pending.
  static func pendingError(_ socket: Int32) -> Int32 {
    var value: Int32 = 0
    var size = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &value, &size) == 0 else { return errno }
    return value
  }

  /// Binds `socket` to `address` with `bind(2)`.
  static func bind(_ socket: Int32, to address: RawSocketAddress) throws(SystemCallError) {
    _ = try address.withSockaddr { pointer, length throws(SystemCallError) in
      try retryingInterrupts("bind") { Glibc.bind(socket, pointer, length) }
    }
  }

  /// Marks `socket` as accepting connections with `listen(2)`.
  static func listen(_ socket: Int32, backlog: Int32) throws(SystemCallError) {
    _ = try retryingInterrupts("listen") { Glibc.listen(socket, backlog) }
  }

  /// Returns the address that `socket` is bound to, with `getsockname(2)`.
  static func localAddress(_ socket: Int32) throws(SystemCallError) -> RawSocketAddress {
    var address = RawSocketAddress()
    _ = try address.withMutableSockaddr { pointer, length throws(SystemCallError) in
      try retryingInterrupts("getsockname") { getsockname(socket, pointer, length) }
    }
    return address
  }

  /// Accepts one connection from `listener` as a non-blocking, close-on-exec socket, with
  /// `accept4(2)`.
  ///
  /// - Returns: the new socket and its peer address, or nil when no connection is waiting.
  static func accept(_ listener: Int32) throws(SystemCallError) -> (Int32, RawSocketAddress)? {
    var peer = RawSocketAddress()
    let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    while true {
      let socket = peer.withMutableSockaddr { pointer, length in
        accept4(listener, pointer, length, flags)
      }
      if socket >= 0 { return (socket, peer) }
      let code = errno
      switch code {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: return nil
      default: throw SystemCallError(operation: "accept4", code: code)
      }
    }
  }

  /// Reads available bytes from a non-blocking socket with `recv(2)`.
  static func receive(
    _ socket: Int32, into buffer: UnsafeMutableRawBufferPointer
  ) throws(SystemCallError) -> TransferResult {
    while true {
      let count = recv(socket, buffer.baseAddress, buffer.count, 0)
      if count > 0 { return .transferred(count) }
      if count == 0 { return .endOfInput }
      let code = errno
      switch code {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: return .wouldBlock
      default: throw SystemCallError(operation: "recv", code: code)
      }
    }
  }

  /// Writes bytes to a non-blocking socket with `send(2)` and `MSG_NOSIGNAL`, so that a
  /// closed peer fails the call with `EPIPE` instead of raising `SIGPIPE`.
  static func send(
    _ socket: Int32, from buffer: UnsafeRawBufferPointer
  ) throws(SystemCallError) -> TransferResult {
    while true {
      let count = Glibc.send(socket, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
      if count >= 0 { return count == 0 ? .wouldBlock : .transferred(count) }
      let code = errno
      switch code {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: return .wouldBlock
      default: throw SystemCallError(operation: "send", code: code)
      }
    }
  }

  /// Shuts down the sending side of `socket` with `shutdown(2)`, so the peer reads end of
  /// input after the bytes already sent.
  static func shutdownOutput(_ socket: Int32) throws(SystemCallError) {
    _ = try retryingInterrupts("shutdown") { Glibc.shutdown(socket, Int32(SHUT_WR)) }
  }

  /// Closes a descriptor with `close(2)`.
  ///
  /// Errors are ignored and `EINTR` is not retried, because Linux releases the descriptor
  /// even when `close` fails, and a retry could close a descriptor that another thread has
  /// opened since.
  static func close(_ descriptor: Int32) {
    _ = Glibc.close(descriptor)
  }

  // MARK: - epoll and eventfd

  /// Creates a close-on-exec epoll instance with `epoll_create1(2)`.
  static func epollCreate() throws(SystemCallError) -> Int32 {
    try retryingInterrupts("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
  }

  /// Adds, modifies or removes the registration of `descriptor` with `epoll_ctl(2)`.
  ///
  /// - Parameters:
  ///   - operation: `EPOLL_CTL_ADD`, `EPOLL_CTL_MOD` or `EPOLL_CTL_DEL`.
  ///   - events: a mask of `EPOLLIN`, `EPOLLOUT` and other event bits; level-triggered.
  ///   - token: the value that `epoll_wait` returns with each event for `descriptor`.
  static func epollControl(
    _ epoll: Int32, _ operation: Int32, _ descriptor: Int32, events: UInt32, token: UInt64
  ) throws(SystemCallError) {
    var event = epoll_event()
    event.events = events
    event.data.u64 = token
    _ = try retryingInterrupts("epoll_ctl") { epoll_ctl(epoll, operation, descriptor, &event) }
  }

  /// Waits for events with `epoll_wait(2)`.
  ///
  /// - Parameter timeoutMilliseconds: -1 waits without limit.
  /// - Returns: the number of events stored at the start of `events`; 0 on timeout or when
  ///   a signal interrupted the wait.
  static func epollWait(
    _ epoll: Int32, into events: UnsafeMutableBufferPointer<epoll_event>,
    timeoutMilliseconds: Int32
  ) throws(SystemCallError) -> Int {
    let count = epoll_wait(epoll, events.baseAddress, Int32(events.count), timeoutMilliseconds)
    if count >= 0 { return Int(count) }
    let code = errno
    if code == EINTR { return 0 }
    throw SystemCallError(operation: "epoll_wait", code: code)
  }

  /// Creates a non-blocking, close-on-exec eventfd with a counter of 0, with `eventfd(2)`.
  static func eventCreate() throws(SystemCallError) -> Int32 {
    try retryingInterrupts("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
  }

  /// Adds 1 to the counter of an eventfd, which makes it readable.
  ///
  /// A full counter (`EAGAIN`) is ignored, because the descriptor is then readable already.
  static func eventSignal(_ descriptor: Int32) {
    var increment: UInt64 = 1
    while write(descriptor, &increment, MemoryLayout<UInt64>.size) < 0 && errno == EINTR {}
  }

  /// Resets the counter of a non-blocking eventfd to 0, so it stops being readable.
  static func eventReset(_ descriptor: Int32) {
    var value: UInt64 = 0
    while read(descriptor, &value, MemoryLayout<UInt64>.size) < 0 && errno == EINTR {}
  }
}
