import Foundation

/// Settings of a `TCPServer`: where it listens and the limits it enforces per connection.
public struct ServerConfiguration: Sendable {
  /// The address to listen on: a numeric IPv4 or IPv6 address or a host name. An empty
  /// string listens on every local address.
  public var host: String

  /// The TCP port; 0 lets the system choose a free one, which `TCPServer.boundPort` returns.
  public var port: Int

  /// Open connections above which a new connection receives
  /// `ERR too many connections (limit N); try again later` and is closed.
  public var maxConnections: Int

  /// Time without progress after which a connection is closed. Receiving bytes counts as
  /// progress, and so does sending, so that a client reading a long run of responses
  /// stays connected.
  public var idleTimeout: Duration

  /// Time a connection may hold part of a request without the handler consuming any of it,
  /// after which it receives the handler's `requestTimedOut` response and is closed. This
  /// stops a client that sends a request a few bytes at a time from holding a connection
  /// slot, which the idle timeout alone would allow.
  public var requestTimeout: Duration

  /// Bytes of unconsumed input above which the connection receives the handler's
  /// `inputLimitExceeded` response and is closed. The handler discards over-long requests
  /// itself, so this limit only catches input that the handler keeps leaving unconsumed.
  public var maxPendingInput: Int

  /// Bytes of unsent output at which the server stops reading from the connection and
  /// stops passing its input to the handler. Both resume once the client has read enough
  /// that half of this remains.
  public var maxPendingOutput: Int

  /// Threads that serve connections, each with its own epoll instance.
  public var eventLoops: Int

  /// Time that `TCPServer.stop()` waits for unsent output to reach clients before it
  /// closes the remaining connections.
  public var shutdownGracePeriod: Duration

  public init(
    host: String = "127.0.0.1",
    port: Int = 0,
    maxConnections: Int = 1024,
    idleTimeout: Duration = .seconds(300),
    requestTimeout: Duration = .seconds(30),
    maxPendingInput: Int = 1 << 20,
    maxPendingOutput: Int = 4 << 20,
    eventLoops: Int = ProcessInfo.processInfo.activeProcessorCount,
    shutdownGracePeriod: Duration = .seconds(2)
  ) {
    self.host = host
    self.port = port
    self.maxConnections = maxConnections
    self.idleTimeout = idleTimeout
    self.requestTimeout = requestTimeout
    self.maxPendingInput = maxPendingInput
    self.maxPendingOutput = maxPendingOutput
    self.eventLoops = eventLoops
    self.shutdownGracePeriod = shutdownGracePeriod
  }

  /// Checks that every value is in range.
  ///
  /// - Throws: `ServerError.invalidConfiguration` naming the first value out of range.
  func validate() throws(ServerError) {
    func require(_ condition: Bool, _ name: String, _ value: Any, _ requirement: String)
      throws(ServerError)
    {
      if !condition {
        throw .invalidConfiguration(name: name, value: "\(value)", requirement: requirement)
      }
    }
    try require((0...65535).contains(port), "port", port, "from 0 to 65535")
    try require(maxConnections >= 1, "maxConnections", maxConnections, "at least 1")
    try require(idleTimeout > .zero, "idleTimeout", idleTimeout, "more than zero")
    try require(requestTimeout > .zero, "requestTimeout", requestTimeout, "more than zero")
    try require(maxPendingInput >= 1, "maxPendingInput", maxPendingInput, "at least 1")
    try require(maxPendingOutput >= 2, "maxPendingOutput", maxPendingOutput, "at least 2")
    try require(eventLoops >= 1, "eventLoops", eventLoops, "at least 1")
    try require(
      shutdownGracePeriod >= .zero, "shutdownGracePeriod", shutdownGracePeriod, "zero or more")
  }
}
