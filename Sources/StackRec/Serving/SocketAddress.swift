import Glibc

/// An IPv4 or IPv6 address with a TCP port, such as a connection's peer.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
  /// The numeric address, such as `127.0.0.1` or `::1`.
  public let host: String

  /// The TCP port, from 0 to 65535.
  public let port: Int

  /// Whether the address is on the loopback interface: `127.0.0.0/8`, `::1`, or an
  /// IPv4-mapped IPv6 address in `127.0.0.0/8`.
  public let isLoopback: Bool

  public init(host: String, port: Int, isLoopback: Bool) {
    self.host = host
    self.port = port
    self.isLoopback = isLoopback
  }

  /// The address as written in a URL: `127.0.0.1:8080`, or `[::1]:8080` for IPv6.
  public var description: String {
    Self.format(host: host, port: port)
  }

  static func format(host: String, port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }
}

/// A `sockaddr_storage` and its length, as passed to and filled in by the socket calls.
struct RawSocketAddress {
  var storage = sockaddr_storage()
  var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

  var family: Int32 { Int32(storage.ss_family) }

  func withSockaddr<Result, Failure: Error>(
    _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
  ) throws(Failure) -> Result {
    var copy = storage
    return try withUnsafePointer(to: &copy) { pointer throws(Failure) in
      try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(Failure) in
        try body(address, length)
      }
    }
  }

  mutating func withMutableSockaddr<Result, Failure: Error>(
    _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) throws(Failure)
      -> Result
  ) throws(Failure) -> Result {
    length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    return try withUnsafeMutablePointer(to: &storage) { pointer throws(Failure) in
      try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(Failure) in
        try body(address, &length)
      }
    }
  }

  /// The numeric host and port, or `unknown:0` for a family other than IPv4 and IPv6.
  var socketAddress: SocketAddress {
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    func host() -> String {
      String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    switch family {
    case AF_INET:
      return withUnsafeBytes(of: storage) { raw in
        var address = raw.loadUnaligned(as: sockaddr_in.self)
        inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
        let firstOctet = UInt8(truncatingIfNeeded: UInt32(bigEndian: address.sin_addr.s_addr) >> 24)
        return SocketAddress(
          host: host(), port: Int(UInt16(bigEndian: address.sin_port)),
          isLoopback: firstOctet == 127)
      }
    case AF_INET6:
      return withUnsafeBytes(of: storage) { raw in
        var address = raw.loadUnaligned(as: sockaddr_in6.self)
        inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
        let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
        return SocketAddress(
          host: host(), port: Int(UInt16(bigEndian: address.sin6_port)),
          isLoopback: Self.isIPv6Loopback(bytes))
      }
    default:
      return SocketAddress(host: "unknown", port: 0, isLoopback: false)
    }
  }

  /// Returns whether 16 address bytes are `::1` or an IPv4-mapped address in `127.0.0.0/8`.
  static func isIPv6Loopback(_ bytes: [UInt8]) -> Bool {
    let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
    let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
    return bytes == loopback || (bytes.prefix(12).elementsEqual(mappedPrefix) && bytes[12] == 127)
  }

  /// Resolves the address to listen on with `getaddrinfo(3)`, taking the first result.
  ///
  /// `host` may be a numeric IPv4 or IPv6 address or a host name; an empty `host` means
  /// every local address (the wildcard address).
  ///
  /// - Throws: `ServerError.unresolvableHost` with the resolver's reason.
  static func resolve(host: String, port: Int) throws(ServerError) -> RawSocketAddress {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
    var list: UnsafeMutablePointer<addrinfo>?
    let status =
      host.isEmpty
      ? getaddrinfo(nil, String(port), &hints, &list)
      : getaddrinfo(host, String(port), &hints, &list)
    guard status == 0, let first = list else {
      let reason =
        status == EAI_SYSTEM
        ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
      throw .unresolvableHost(host: host, reason: reason)
    }
    defer { freeaddrinfo(list) }

    var address = RawSocketAddress()
    let length = Int(first.pointee.ai_addrlen)
    withUnsafeMutableBytes(of: &address.storage) { storage in
      storage.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: length))
    }
    address.length = socklen_t(length)
    return address
  }
}
