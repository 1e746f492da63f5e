/// The identity of one accepted connection, given to the handler factory.
public struct ConnectionInfo: Sendable {
  /// A number that identifies the connection in log lines, unique within one server and
  /// increasing in accept order from 1.
  public let id: UInt64

  /// The client's address and port.
  public let peer: SocketAddress

  public init(id: UInt64, peer: SocketAddress) {
    self.id = id
    self.peer = peer
  }
}

/// Decodes requests from one connection's bytes and appends the responses.
///
/// The server creates one handler per connection and calls it only on that connection's
/// event-loop thread, so a handler needs no locking for its own state.
public protocol ConnectionHandler: AnyObject {
  /// Consumes complete requests from the front of `input`, appending one response per
  /// request to `output`.
  ///
  /// The server may pass only part of the bytes it holds, so `input` can end in the middle
  /// of a request. Leave such a request unconsumed: the server passes it again, with the
  /// bytes that follow, on a later call. `input` is valid only during the call.
  ///
  /// - Returns: `consumed` is the number of bytes taken from the front of `input`, from 0 to
  ///   `input.count`, which the server drops. `close` is true when the server should close
  ///   the connection once `output` is sent, without reading further input.
  func process(_ input: UnsafeRawBufferPointer, into output: inout [UInt8])
    -> (consumed: Int, close: Bool)

  /// Appends the last response for a connection whose unconsumed input grew past
  /// `limit` bytes. The server then discards the input and closes the connection once
  /// `output` is sent.
  func inputLimitExceeded(limit: Int, into output: inout [UInt8])

  /// Appends the last response for a connection that held part of a request for
  /// `timeout` without completing it. The server then discards the input and closes the
  /// connection once `output` is sent.
  func requestTimedOut(after timeout: Duration, into output: inout [UInt8])
}

extension ConnectionHandler {
  /// Appends `ERR request too long (limit N bytes); closing connection`.
  public func inputLimitExceeded(limit: Int, into output: inout [UInt8]) {
    output.append(
      contentsOf: "ERR request too long (limit \(limit) bytes); closing connection\n".utf8)
  }

  /// Appends `ERR request incomplete after N s; closing connection`.
  public func requestTimedOut(after timeout: Duration, into output: inout [UInt8]) {
    output.append(contentsOf: "ERR \(incompleteRequestMessage(after: timeout))\n".utf8)
  }
}

/// Returns the message for a request still incomplete after `timeout`, which it gives in
/// whole seconds when the timeout is whole.
func incompleteRequestMessage(after timeout: Duration) -> String {
  let (seconds, attoseconds) = timeout.components
  let text =
    attoseconds == 0
    ? "\(seconds)" : "\(Double(seconds) + Double(attoseconds) / 1e18)"
  return "request incomplete after \(text) s; closing connection"
}
