import Foundation
import Synchronization
import Testing

@testable import StackRec

@Suite struct DatasetFetcherTests {
  /// A logger that drops everything below `critical`, to keep the test output readable.
  let logger = Logger(label: "fetch-test", threshold: .critical)

  static let ratings = Array("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n".utf8)
  static let movies = Array("movieId,title,genres\n1,Toy Story (1995),Animation\n".utf8)

  /// Builds an archive laid out like the official one, under the top-level folder `folder`.
  static func movieLensArchive(folder: String = "ml-latest-small") -> [UInt8] {
    var writer = TestZipWriter()
    writer.addDirectory(folder + "/")
    writer.add(folder + "/ratings.csv", ratings, method: .deflate)
    writer.add(folder + "/movies.csv", movies)
    return writer.build().bytes
  }

  /// Writes the archive to `root/source/ml-latest-small.zip` and returns its file URL.
  static func writeArchive(_ bytes: [UInt8], under root: String) throws -> String {
    try FileManager.default.createDirectory(
      atPath: root + "/source", withIntermediateDirectories: false)
    let path = root + "/source/ml-latest-small.zip"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return "file://" + path
  }

  /// Checks that a message explains how to place the files by hand.
  static func expectManualSteps(_ message: String, url: String, directory: String) {
    #expect(message.contains("download \(url) with a browser or `curl"), "\(message)")
    #expect(message.contains("`unzip ml-latest-small.zip -d "), "\(message)")
    #expect(message.contains("so that \(directory)/ratings.csv exists"), "\(message)")
    #expect(message.contains("--data DIR"), "\(message)")
  }

  // MARK: - file:// URLs

  @Test func fileURLCreatesDataset() throws {
    try withTemporaryDirectory { root in
      let bytes = Self.movieLensArchive()
      let url = try Self.writeArchive(bytes, under: root)
      let directory = root + "/data/ml-latest-small"

      try DatasetFetcher.ensureDataset(
        directory: directory, url: url, expectedSHA256: SHA256.hexDigest(bytes), logger: logger)

      #expect(try fileBytes(directory + "/ratings.csv") == Self.ratings)
      #expect(try fileBytes(directory + "/movies.csv") == Self.movies)
      #expect(try directoryListing(root + "/data") == ["ml-latest-small"])
    }
  }

  @Test func wrongHashFailsAndWritesNothing() throws {
    try withTemporaryDirectory { root in
      let bytes = Self.movieLensArchive()
      let url = try Self.writeArchive(bytes, under: root)
      let directory = root + "/data/ml-latest-small"
      let wrong = String(repeating: "0", count: 64)

      let error = try #require(throws: FetchError.self) {
        try DatasetFetcher.ensureDataset(
          directory: directory, url: url, expectedSHA256: wrong, logger: logger)
      }
      let actual = SHA256.hexDigest(bytes)
      #expect(
        error
          == .hashMismatch(url: url, expected: wrong, actual: actual, directory: directory))
      #expect(error.description.contains(wrong))
      #expect(error.description.contains(actual))
      Self.expectManualSteps(error.description, url: url, directory: directory)
      #expect(try directoryListing(root) == ["source"])
    }
  }

  @Test func uppercaseExpectedHashAccepted() throws {
    try withTemporaryDirectory { root in
      let bytes = Self.movieLensArchive()
      let url = try Self.writeArchive(bytes, under: root)
      let directory = root + "/ml-latest-small"

      try DatasetFetcher.ensureDataset(
        directory: directory, url: url, expectedSHA256: SHA256.hexDigest(bytes).uppercased(),
        logger: logger)
      #expect(try fileBytes(directory + "/ratings.csv") == Self.ratings)
    }
  }

  @Test func existingDatasetIsLeftAlone() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/ml-latest-small"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
      try Data("mine".utf8).write(to: URL(fileURLWithPath: directory + "/ratings.csv"))

      // The URL does not exist, so any attempt to fetch it would fail.
      try DatasetFetcher.ensureDataset(
        directory: directory, url: "file://" + root + "/missing.zip",
        expectedSHA256: String(repeating: "0", count: 64), logger: logger)

      #expect(try fileBytes(directory + "/ratings.csv") == Array("mine".utf8))
      #expect(try directoryListing(root) == ["ml-latest-small"])
      #expect(try directoryListing(directory) == ["ratings.csv"])
    }
  }

  @Test func missingFileFailsWithManualSteps() throws {
    try withTemporaryDirectory { root in
      let path = root + "/nowhere/ml-latest-small.zip"
      let url = "file://" + path
      let directory = root + "/data/ml-latest-small"

      let error = try #require(throws: FetchError.self) {
        try DatasetFetcher.ensureDataset(
          directory: directory, url: url, expectedSHA256: nil, logger: logger)
      }
      #expect(
        error
          == .unreadableFile(
            url: url, path: path, reason: "No such file or directory", directory: directory))
      #expect(error.description.contains(path))
      Self.expectManualSteps(error.description, url: url, directory: directory)
      #expect(try directoryListing(root) == [])
    }
  }

  @Test func folderNameMismatchFailsAndWritesNothing() throws {
    try withTemporaryDirectory { root in
      let bytes = Self.movieLensArchive(folder: "ml-latest")
      let url = try Self.writeArchive(bytes, under: root)
      let directory = root + "/ml-latest-small"

      let error = try #require(throws: FetchError.self) {
        try DatasetFetcher.ensureDataset(
          directory: directory, url: url, expectedSHA256: nil, logger: logger)
      }
      #expect(
        error
          == .datasetNotInArchive(url: url, directory: directory, topLevelNames: ["ml-latest"]))
      #expect(error.description.contains("does not contain ml-latest-small/ratings.csv"))
      #expect(error.description.contains("ml-latest"))
      #expect(try directoryListing(root) == ["source"])
    }
  }

  @Test func corruptArchiveFailsAndWritesNothing() throws {
    try withTemporaryDirectory { root in
      var writer = TestZipWriter()
      writer.add("ml-latest-small/movies.csv", Self.movies)
      writer.add("ml-latest-small/ratings.csv", Self.ratings)
      let built = writer.build()
      var bytes = built.bytes
      bytes[try #require(built.dataRanges["ml-latest-small/ratings.csv"]).lowerBound] ^= 1
      let url = try Self.writeArchive(bytes, under: root)
      let directory = root + "/data/ml-latest-small"

      let error = try #require(throws: FetchError.self) {
        try DatasetFetcher.ensureDataset(
          directory: directory, url: url, expectedSHA256: nil, logger: logger)
      }
      guard case .unpackFailed(_, _, .checksumMismatch(_, let entry, _, _)) = error else {
        Issue.record("expected a checksum failure while unpacking, got \(error)")
        return
      }
      #expect(entry == "ml-latest-small/ratings.csv")
      Self.expectManualSteps(error.description, url: url, directory: directory)
      #expect(try directoryListing(root) == ["source"])
    }
  }

  // MARK: - URLs and hashes

  @Test func defaultURLUsesDefaultHash() throws {
    #expect(
      try DatasetFetcher.expectedHash(for: DatasetFetcher.defaultURL, explicitHash: nil)
        == DatasetFetcher.defaultSHA256)
    #expect(
      try DatasetFetcher.expectedHash(for: "file:///data/other.zip", explicitHash: nil) == nil)
    let explicitHash = String(repeating: "AB", count: 32)
    #expect(
      try DatasetFetcher.expectedHash(for: DatasetFetcher.defaultURL, explicitHash: explicitHash)
        == explicitHash.lowercased())
  }

  @Test(arguments: ["abc", String(repeating: "g", count: 64), String(repeating: "0", count: 65)])
  func invalidExpectedHashRejected(hash: String) throws {
    let error = try #require(throws: FetchError.self) {
      try DatasetFetcher.expectedHash(for: "file:///data/x.zip", explicitHash: hash)
    }
    #expect(error == .invalidExpectedHash(value: hash))
  }

  @Test(arguments: ["ftp://127.0.0.1/ml-latest-small.zip", "file://data/ml-latest-small.zip"])
  func unsupportedURLRejected(url: String) throws {
    try withTemporaryDirectory { root in
      let error = try #require(throws: FetchError.self) {
        try DatasetFetcher.ensureDataset(
          directory: root + "/ml-latest-small", url: url, expectedSHA256: nil, logger: logger)
      }
      guard case .unsupportedURL(let reportedURL, _) = error else {
        Issue.record("expected unsupportedURL, got \(error)")
        return
      }
      #expect(reportedURL == url)
      #expect(try directoryListing(root) == [])
    }
  }

  // MARK: - HTTP on the loopback interface

  @Test func unreachableServerFailsWithManualSteps() throws {
    // A bound socket that never listens refuses connections, and holding it keeps the port
    // from being reused while the test runs.
    let closedPort = try LoopbackSocket()
    defer { closedPort.close() }

    try withTemporaryDirectory { root in
      let url = "http://127.0.0.1:\(closedPort.port)/ml-latest-small.zip"
      let directory = root + "/ml-latest-small"

      let error = try #require(throws: FetchError.self) {
        try DatasetFetcher.ensureDataset(
          directory: directory, url: url, expectedSHA256: nil, logger: logger)
      }
      guard case .networkFailure(let reportedURL, let reason, _) = error else {
        Issue.record("expected networkFailure, got \(error)")
        return
      }
      #expect(reportedURL == url)
      #expect(!reason.isEmpty)
      Self.expectManualSteps(error.description, url: url, directory: directory)
      #expect(try directoryListing(root) == [])
    }
  }

  @Test func httpDownloadFollowsRedirect() throws {
    let bytes = Self.movieLensArchive()
    let server = try LoopbackHTTPServer(routes: [
      "/moved/ml-latest-small.zip": .init(status: 302, location: "/files/ml-latest-small.zip"),
      "/files/ml-latest-small.zip": .init(status: 200, body: bytes),
    ])
    defer { server.stop() }

    try withTemporaryDirectory { root in
      let directory = root + "/ml-latest-small"
      try DatasetFetcher.ensureDataset(
        directory: directory, url: "http://127.0.0.1:\(server.port)/moved/ml-latest-small.zip",
        expectedSHA256: SHA256.hexDigest(bytes), logger: logger)

      #expect(try fileBytes(directory + "/ratings.csv") == Self.ratings)
      #expect(
        server.requestedPaths() == ["/moved/ml-latest-small.zip", "/files/ml-latest-small.zip"])
    }
  }

  @Test func httpErrorStatusReported() throws {
    let server = try LoopbackHTTPServer(routes: [:])
    defer { server.stop() }

    try withTemporaryDirectory { root in
      let url = "http://127.0.0.1:\(server.port)/ml-latest-small.zip"
      let directory = root + "/ml-latest-small"

      let error = try #require(throws: FetchError.self) {
        try DatasetFetcher.ensureDataset(
          directory: directory, url: url, expectedSHA256: nil, logger: logger)
      }
      #expect(error == .httpStatus(url: url, status: 404, directory: directory))
      #expect(error.description.contains("HTTP status 404"))
      Self.expectManualSteps(error.description, url: url, directory: directory)
      #expect(try directoryListing(root) == [])
    }
  }
}

// MARK: - The MovieLens archive

@Suite(.enabled(if: movieLensDataDirectory != nil, "STACKREC_DATA_DIR is not set"))
struct MovieLensFetchTests {
  @Test func fileURLUnpacksRealArchive() throws {
    let dataDirectory = try #require(movieLensDataDirectory)
    try withTemporaryDirectory { root in
      let directory = root + "/ml-latest-small"
      try DatasetFetcher.ensureDataset(
        directory: directory, url: "file://" + dataDirectory + "/ml-latest-small.zip",
        expectedSHA256: DatasetFetcher.defaultSHA256,
        logger: Logger(label: "fetch-test", threshold: .critical))

      #expect(
        try fileBytes(directory + "/ratings.csv")
          == fileBytes(dataDirectory + "/ml-latest-small/ratings.csv"))
      #expect(
        try directoryListing(directory)
          == ["README.txt", "links.csv", "movies.csv", "ratings.csv", "tags.csv"])
    }
  }
}

// MARK: - Loopback sockets

/// A TCP socket bound to an unused port on 127.0.0.1.
final class LoopbackSocket: Sendable {
  let descriptor: Int32
  let port: UInt16

  struct SocketError: Error, CustomStringConvertible {
    var operation: String
    var code: Int32
    var description: String { "\(operation) failed: \(String(cString: strerror(code)))" }
  }

  init() throws {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw SocketError(operation: "socket", code: errno) }

    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = in_addr_t(INADDR_LOOPBACK).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let status = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
        bind(descriptor, socketAddress, length) == 0
          ? getsockname(descriptor, socketAddress, &length) : -1
      }
    }
    guard status == 0 else {
      let code = errno
      Glibc.close(descriptor)
      throw SocketError(operation: "bind", code: code)
    }
    self.descriptor = descriptor
    port = UInt16(bigEndian: address.sin_port)
  }

  func close() {
    _ = Glibc.close(descriptor)
  }
}

/// An HTTP/1.1 server on 127.0.0.1 that serves one connection at a time on its own thread.
/// It responds to each request from a table of paths, with 404 for any other path.
final class LoopbackHTTPServer: Sendable {
  struct Response: Sendable {
    var status: Int
    var body: [UInt8] = []
    var location: String? = nil
  }

  private let socket: LoopbackSocket
  private let routes: [String: Response]
  private let paths = Mutex<[String]>([])
  private let stopped = Mutex(false)
  private let finished = DispatchSemaphore(value: 0)

  var port: UInt16 { socket.port }

  init(routes: [String: Response]) throws {
    self.routes = routes
    socket = try LoopbackSocket()
    guard listen(socket.descriptor, 8) == 0 else {
      socket.close()
      throw LoopbackSocket.SocketError(operation: "listen", code: errno)
    }
    let thread = Thread { [self] in
      serve()
      finished.signal()
    }
    thread.start()
  }

  /// Returns the request paths received so far, in order.
  func requestedPaths() -> [String] {
    paths.withLock { $0 }
  }

  /// Stops accepting connections and waits for the serving thread to end.
  func stop() {
    stopped.withLock { $0 = true }
    shutdown(socket.descriptor, Int32(SHUT_RDWR))
    finished.wait()
    socket.close()
  }

  private func serve() {
    while true {
      let connection = accept(socket.descriptor, nil, nil)
      if connection < 0 {
        if errno == EINTR && !stopped.withLock({ $0 }) { continue }
        return
      }
      answer(connection)
      Glibc.close(connection)
    }
  }

  private func answer(_ connection: Int32) {
    // Read up to the blank line that ends the request head. Requests here have no body.
    var request: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !request.ends(with: Array("\r\n\r\n".utf8)) && request.count < 65_536 {
      let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
      if count <= 0 { return }
      request += buffer[0..<count]
    }

    let requestLine = String(decoding: request.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
    let parts = requestLine.split(separator: " ")
    let path = parts.count >= 2 ? String(parts[1]) : ""
    paths.withLock { $0.append(path) }

    let response = routes[path] ?? Response(status: 404, body: Array("not found\n".utf8))
    var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
    head += "Content-Length: \(response.body.count)\r\n"
    if let location = response.location {
      head += "Location: \(location)\r\n"
    }
    head += "Connection: close\r\n\r\n"
    let bytes = Array(head.utf8) + response.body

    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes {
        send(connection, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
      }
      if written <= 0 { return }
      offset += written
    }
  }

  private static func reason(_ status: Int) -> String {
    switch status {
    case 200: "OK"
    case 302: "Found"
    case 404: "Not Found"
    default: "Status"
    }
  }
}

extension Array where Element: Equatable {
  fileprivate func ends(with suffix: [Element]) -> Bool {
    count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
  }
}
