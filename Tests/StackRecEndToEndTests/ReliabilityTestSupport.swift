import Foundation
import Glibc
import StackRec
import Testing

// Helpers for the reliability tests: built executables run as child processes with their
// output in files, a blender on an ephemeral loopback port, a line client with deadlines,
// small rating files, inotify, and tmpfs mounts for disk faults.

// MARK: - Files

/// A scratch directory under the system's temporary directory.
struct ScratchDirectory {
  let path: String

  /// Runs `body` with a fresh, empty directory, then removes it and everything in it.
  static func with<T>(_ body: (ScratchDirectory) throws -> T) throws -> T {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/stackrec-reliability-XXXXXX".utf8CString)
    let created = try #require(mkdtemp(&template), "mkdtemp failed under \(base)")
    let directory = ScratchDirectory(path: String(cString: created))
    defer { try? FileManager.default.removeItem(atPath: directory.path) }
    return try body(directory)
  }

  func file(_ name: String) -> String {
    path + "/" + name
  }

  /// Returns the names of the entries of `subdirectory` (the directory itself by default),
  /// sorted.
  func entries(_ subdirectory: String? = nil) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: subdirectory.map(file) ?? path).sorted()
  }
}

/// Reads a whole file, or returns nil when it cannot be read.
func fileBytes(_ path: String) -> [UInt8]? {
  (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init)
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func writeFile(_ path: String, _ text: String) throws {
  try writeFile(path, Array(text.utf8))
}

/// Generates a ratings CSV file of `users` users and `items` movies, each pair rated with
/// probability `density` on the half-star scale, with timestamps. Ids start at 1.
func ratingsCSV(users: Int, items: Int, density: Double = 0.6, seed: UInt64 = 11) -> String {
  var generator = SeededGenerator(seed: seed)
  var text = "userId,movieId,rating,timestamp\n"
  for user in 1...users {
    for item in 1...items where generator.nextUnit() < density {
      let halfStars = 1 + generator.nextInt(below: 10)
      text += "\(user),\(item),\(Double(halfStars) / 2),\(1_000_000 + user * 1000 + item)\n"
    }
  }
  return text
}

// MARK: - Child processes

/// A built executable run as a child process, with standard output and standard error in
/// files so that a full pipe never blocks it.
final class ChildProcess {
  let process = Process()
  let outputPath: String
  let errorPath: String

  /// The directory that SwiftPM builds the executables into, beside the test binary.
  static let buildDirectory: String = {
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    return URL(fileURLWithPath: testBinary ?? "").deletingLastPathComponent().path
  }()

  /// Starts `executable` with `arguments`.
  ///
  /// - Parameters:
  ///   - executable: a name in the build directory, or an absolute path.
  ///   - limits: `ulimit` options for the child, such as `-f 64` (file size in 1024-byte
  ///     blocks) or `-n 32` (open files), applied through `/bin/sh`.
  ///   - input: a file for standard input; without it, standard input is empty.
  init(
    _ executable: String, _ arguments: [String], logDirectory: String, label: String? = nil,
    limits: [String] = [], input: String? = nil
  ) throws {
    let path = executable.hasPrefix("/") ? executable : Self.buildDirectory + "/" + executable
    try #require(
      FileManager.default.isExecutableFile(atPath: path), "\(path) not found; build first")
    let name = label ?? URL(fileURLWithPath: executable).lastPathComponent
    outputPath = logDirectory + "/\(name).stdout"
    errorPath = logDirectory + "/\(name).stderr"
    for file in [outputPath, errorPath] {
      try #require(FileManager.default.createFile(atPath: file, contents: nil))
    }
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let error = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    defer {
      try? output.close()
      try? error.close()
    }

    if !limits.isEmpty {
      // exec keeps the child's pid, so signals reach the executable itself.
      let script = limits.map { "ulimit \($0) && " }.joined() + "exec \"$0\" \"$@\""
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      process.arguments = ["-c", script, path] + arguments
    } else {
      process.executableURL = URL(fileURLWithPath: path)
      process.arguments = arguments
    }
    process.standardInput =
      try input.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) }
      ?? FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = error
    try process.run()
  }

  /// Runs `executable` to the end.
  static func run(
    _ executable: String, _ arguments: [String], logDirectory: String, label: String? = nil,
    limits: [String] = [], input: String? = nil
  ) throws -> ChildProcess {
    let child = try ChildProcess(
      executable, arguments, logDirectory: logDirectory, label: label, limits: limits,
      input: input)
    #expect(child.wait(timeout: .seconds(120)), "\(executable) still running after 120 s")
    return child
  }

  var pid: Int32 { process.processIdentifier }
  var isRunning: Bool { process.isRunning }

  /// The exit status, or the signal number when a signal ended the process.
  var status: Int32 { process.terminationStatus }
  var wasSignalled: Bool { process.terminationReason == .uncaughtSignal }

  var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
  var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

  func signal(_ number: Int32) {
    kill(pid, number)
  }

  /// Waits for the process to end.
  ///
  /// - Returns: false when it is still running after `timeout`.
  @discardableResult
  func wait(timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
      if ContinuousClock.now >= deadline { return false }
      usleep(5_000)
    }
    return true
  }

  /// Waits until standard error contains `text`.
  @discardableResult
  func waitForLog(_ text: String, timeout: Duration = .seconds(10)) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !errorOutput.contains(text) {
      if ContinuousClock.now >= deadline { return false }
      usleep(10_000)
    }
    return true
  }

  deinit {
    if process.isRunning {
      kill(pid, SIGKILL)
      process.waitUntilExit()
    }
  }
}

/// Runs `stackrec-precompute` on a ratings file to `store`, with its report beside it.
func runPrecompute(
  ratings: String, store: String, in directory: ScratchDirectory, label: String = "precompute",
  extra: [String] = []
) throws -> ChildProcess {
  try ChildProcess.run(
    "stackrec-precompute",
    ["--ratings", ratings, "--out", store, "--report-dir", directory.file("report-\(label)"),
      "--quiet"] + extra,
    logDirectory: directory.path, label: label)
}

// MARK: - Blender

/// `stackrec-blend` listening on an ephemeral port, and the port it chose.
final class BlendServer {
  let child: ChildProcess
  private(set) var port = 0
  /// The process that receives signals: the blender, also when `wrapper` runs it.
  private(set) var pid: Int32 = 0

  /// Starts the blender with `--listen listen` and waits for its "listening" log line.
  ///
  /// - Parameters:
  ///   - wrapper: a command that runs the blender as its child, such as `strace` and its
  ///     options; signals then go to the blender itself.
  init(
    store: String, in directory: ScratchDirectory, arguments: [String] = [],
    listen: String = "127.0.0.1:0", label: String = "blend", limits: [String] = [],
    wrapper: [String] = []
  ) throws {
    let blend = ChildProcess.buildDirectory + "/stackrec-blend"
    let command = wrapper + [blend, "--store", store, "--listen", listen] + arguments
    child = try ChildProcess(
      command[0], Array(command.dropFirst()), logDirectory: directory.path, label: label,
      limits: limits)
    // The log line "listening address=HOST:PORT" gives the port.
    let deadline = ContinuousClock.now + .seconds(20)
    while port == 0 && child.isRunning && ContinuousClock.now < deadline {
      if let range = child.errorOutput.range(of: "listening address=") {
        let address = child.errorOutput[range.upperBound...].prefix { $0 != " " }
        port = address.split(separator: ":").last.flatMap { Int($0) } ?? 0
      }
      if port == 0 { usleep(10_000) }
    }
    try #require(port > 0, "stackrec-blend did not start: \(child.errorOutput)")
    pid = child.pid
    if !wrapper.isEmpty {
      let children = try String(
        contentsOfFile: "/proc/\(child.pid)/task/\(child.pid)/children", encoding: .utf8)
      pid = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
    }
  }

  /// The resident set size of the blender from `/proc/PID/status`, in KiB.
  var residentKilobytes: Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
  }

  func signal(_ number: Int32) {
    kill(pid, number)
  }

  var log: String { child.errorOutput }

  func connect(receiveBufferSize: Int? = nil) throws -> LineClient {
    try LineClient(port: port, receiveBufferSize: receiveBufferSize)
  }

  /// Sends `requests` on a new connection and returns one reply per request.
  func exchange(_ requests: [String]) throws -> [String] {
    let client = try connect()
    try client.send(requests.map { $0 + "\n" }.joined())
    return try client.readLines(requests.count)
  }

  /// Sends SIGTERM and waits for the exit status.
  func stop() -> Int32? {
    signal(SIGTERM)
    guard child.wait(timeout: .seconds(10)) else { return nil }
    return child.status
  }
}

/// A blocking TCP client on loopback that sends bytes and reads lines with deadlines.
final class LineClient {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  let socket: Int32
  private var buffer: [UInt8] = []

  init(port: Int, receiveBufferSize: Int? = nil) throws {
    socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw Failure(description: "socket: errno \(errno)") }
    if var size = receiveBufferSize.map(Int32.init) {
      setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let status = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard status == 0 else {
      let code = errno
      Glibc.close(socket)
      throw Failure(description: "cannot connect to 127.0.0.1:\(port): errno \(code)")
    }
  }

  deinit { Glibc.close(socket) }

  func send(_ text: String) throws {
    try send(bytes: Array(text.utf8))
  }

  func send(bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
      let sent = bytes.withUnsafeBytes {
        Glibc.send(socket, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      }
      if sent < 0 && errno == EINTR { continue }
      guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
      offset += sent
    }
  }

  /// Sends as much of `bytes` as the kernel takes before `timeout`.
  ///
  /// - Returns: the number of bytes sent.
  func sendUntilBlocked(_ bytes: [UInt8], timeout: Duration) -> Int {
    let deadline = ContinuousClock.now + timeout
    var offset = 0
    while offset < bytes.count && ContinuousClock.now < deadline {
      let sent = bytes.withUnsafeBytes {
        Glibc.send(
          socket, $0.baseAddress! + offset, bytes.count - offset,
          Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
      }
      if sent > 0 {
        offset += sent
      } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
        usleep(2_000)
      } else {
        break
      }
    }
    return offset
  }

  /// Reads the next line.
  ///
  /// - Returns: nil when the server closed the connection first.
  /// - Throws: `Failure` when no full line arrives before `timeout`.
  func readLine(timeout: Duration = .seconds(10)) throws -> String? {
    let deadline = ContinuousClock.now + timeout
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      if let newline = buffer.firstIndex(of: 0x0A) {
        let line = String(decoding: buffer[..<newline], as: UTF8.self)
        buffer.removeSubrange(...newline)
        return line
      }
      let remaining = ContinuousClock.now.duration(to: deadline)
      guard remaining > .zero else {
        throw Failure(description: "no full line within \(timeout); received \(buffer.count) bytes")
      }
      var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
      let milliseconds = Int32(remaining.components.seconds * 1000 + 1)
      guard poll(&descriptor, 1, milliseconds) > 0 else { continue }
      let received = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
      if received < 0 && errno == EINTR { continue }
      if received <= 0 { return nil }
      buffer.append(contentsOf: chunk[0..<received])
    }
  }

  /// Reads `count` lines.
  func readLines(_ count: Int, timeout: Duration = .seconds(20)) throws -> [String] {
    let deadline = ContinuousClock.now + timeout
    var lines: [String] = []
    while lines.count < count {
      let remaining = ContinuousClock.now.duration(to: deadline)
      guard let line = try readLine(timeout: max(remaining, .milliseconds(1))) else {
        throw Failure(description: "connection closed after \(lines.count) of \(count) lines")
      }
      lines.append(line)
    }
    return lines
  }

  /// Waits until the server closes the connection, discarding what it sends.
  ///
  /// - Returns: false when the connection is still open after `timeout`.
  func waitForClose(timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while ContinuousClock.now < deadline {
      var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
      guard poll(&descriptor, 1, 20) > 0 else { continue }
      let received = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
      if received == 0 || (received < 0 && errno != EINTR && errno != EAGAIN) { return true }
    }
    return false
  }

  /// Closes the connection with a reset (`SO_LINGER` 0), as a client that crashes does.
  func reset() {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    shutdown(socket, Int32(SHUT_RDWR))
  }
}

// MARK: - inotify

/// Reports files created in one directory, through inotify(7).
final class CreationWatch {
  private let descriptor: Int32

  init(directory: String) throws {
    descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
    try #require(descriptor >= 0, "inotify_init1 failed: errno \(errno)")
    try #require(
      inotify_add_watch(descriptor, directory, UInt32(IN_CREATE)) >= 0,
      "inotify_add_watch failed: errno \(errno)")
  }

  deinit { close(descriptor) }

  /// Waits for a file whose name satisfies `matches` to be created.
  ///
  /// - Returns: the name, or nil after `timeout` or when `keepWaiting` turns false.
  func waitForFile(
    timeout: Duration, keepWaiting: () -> Bool = { true }, _ matches: (String) -> Bool
  ) -> String? {
    let deadline = ContinuousClock.now + timeout
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while ContinuousClock.now < deadline && keepWaiting() {
      var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      guard poll(&poller, 1, 10) > 0 else { continue }
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
      guard count > 0 else { continue }
      // Each event is a struct inotify_event followed by `len` bytes of NUL-padded name.
      var offset = 0
      let header = MemoryLayout<inotify_event>.size
      while offset + header <= count {
        let length = buffer.withUnsafeBytes {
          Int($0.loadUnaligned(fromByteOffset: offset, as: inotify_event.self).len)
        }
        let nameBytes = buffer[(offset + header)..<(offset + header + length)].prefix { $0 != 0 }
        let name = String(decoding: nameBytes, as: UTF8.self)
        if matches(name) { return name }
        offset += header + length
      }
    }
    return nil
  }
}

// MARK: - tmpfs

/// A tmpfs mounted on a directory, for full and read-only file systems. Mounting needs
/// root (or `CAP_SYS_ADMIN`); tests that need it are skipped elsewhere.
final class TmpfsMount {
  let path: String

  /// Whether this process may mount a tmpfs, found by mounting one.
  static let isAvailable: Bool = {
    guard geteuid() == 0 else { return false }
    var template = Array("/tmp/stackrec-mount-probe-XXXXXX".utf8CString)
    guard let created = mkdtemp(&template) else { return false }
    let directory = String(cString: created)
    defer { rmdir(directory) }
    guard Glibc.mount("tmpfs", directory, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount(directory)
    return true
  }()

  /// Mounts a tmpfs of `kilobytes` KiB on `path`, which must be an empty directory.
  init(at path: String, kilobytes: Int) throws {
    self.path = path
    try #require(
      Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(kilobytes)k,mode=0755") == 0,
      "mount tmpfs on \(path) failed: errno \(errno)")
  }

  func remountReadOnly() throws {
    try #require(
      Glibc.mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT | MS_RDONLY), nil) == 0,
      "remounting \(path) read-only failed: errno \(errno)")
  }

  deinit {
    umount2(path, Int32(MNT_DETACH))
  }
}
