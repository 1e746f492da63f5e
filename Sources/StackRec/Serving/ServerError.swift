import Glibc

/// A failure to start a `TCPServer`.
public enum ServerError: Error, CustomStringConvertible {
  /// The configuration value `name` is out of range.
  case invalidConfiguration(name: String, value: String, requirement: String)

  /// `host` is neither a numeric address nor a name that resolves.
  case unresolvableHost(host: String, reason: String)

  /// Creating, binding or listening on the socket for `address` failed.
  case listenFailed(address: String, cause: SystemCallError)

  /// Creating an epoll instance or an eventfd failed.
  case eventLoopSetupFailed(cause: SystemCallError)

  public var description: String {
    switch self {
    case .invalidConfiguration(let name, let value, let requirement):
      return "invalid server configuration: \(name) is \(value), but must be \(requirement)"
    case .unresolvableHost(let host, let reason):
      return "cannot listen on host '\(host)': \(reason); use a numeric address such as 127.0.0.1"
    case .listenFailed(let address, let cause):
      return "cannot listen on \(address): \(cause)\(Self.advice(for: cause.code))"
    case .eventLoopSetupFailed(let cause):
      return "cannot start the event loops: \(cause)"
    }
  }

  private static func advice(for code: Int32) -> String {
    switch code {
    case EADDRINUSE: "; another process is using the port, so stop it or choose another port"
    case EACCES: "; ports below 1024 need privileges, so choose a higher port"
    case EADDRNOTAVAIL: "; the host is not an address of this machine"
    default: ""
    }
  }
}
