import Foundation
import Glibc
import StackRec
import Testing

/// Checks what the built `stackrec-blend` exposes: the address it listens on, who may send
/// RELOAD, that requests name no files, and that the store is opened read-only and no other
/// file is touched while serving.
@Suite struct BlendSecurityEndToEndTests {
  // MARK: - Listening address

  /// Returns the listening TCP sockets of process `pid` from /proc/net/tcp and
  /// /proc/net/tcp6, as (file, local address in hex, port).
  static func listeningSockets(of pid: Int32) throws -> [(file: String, address: String, port: Int)] {
    // The process's sockets appear in /proc/PID/fd as links to "socket:[INODE]".
    let fdDirectory = "/proc/\(pid)/fd"
    var inodes: Set<String> = []
    for entry in try FileManager.default.contentsOfDirectory(atPath: fdDirectory) {
      let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDirectory + "/" + entry)) ?? ""
      if target.hasPrefix("socket:[") { inodes.insert(String(target.dropFirst(8).dropLast())) }
    }
    var sockets: [(String, String, Int)] = []
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
      let table = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
      for line in table.split(separator: "\n").dropFirst() {
        // Fields: slot, local address:port, remote address:port, state, ..., inode (10th).
        let fields = line.split(separator: " ")
        guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
        let local = fields[1].split(separator: ":")
        sockets.append((file, String(local[0]), Int(local[1], radix: 16) ?? -1))
      }
    }
    return sockets
  }

  @Test(arguments: [("0", "0100007F"), ("127.0.0.1:0", "0100007F"), ("0.0.0.0:0", "00000000")])
  func listenAddressMatchesOption(listen: String, expected: String) throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 1)
      let server = try BlendServer(store: store, in: directory, listen: listen)
      let sockets = try Self.listeningSockets(of: server.pid)
      // One IPv4 socket: 0100007F is 127.0.0.1 and 00000000 every interface.
      #expect(sockets.count == 1, "\(sockets)")
      #expect(sockets.first?.file == "/proc/net/tcp")
      #expect(sockets.first?.address == expected)
      #expect(sockets.first?.port == server.port)
      #expect(server.stop() == 0)
    }
  }

  // MARK: - RELOAD permission

  @Test(arguments: [("none", false), ("loopback", true), ("any", true), (nil, true)])
  func adminPolicyDecidesReload(policy: String?, permitted: Bool) throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 1)
      let server = try BlendServer(
        store: store, in: directory, arguments: policy.map { ["--admin-from", $0] } ?? [])
      try BlendTCPEndToEndTests.writeStore(at: directory.file("new.sqlite"), seed: 2)
      #expect(rename(directory.file("new.sqlite"), store) == 0)

      let replies = try server.exchange(["RELOAD", "INFO", "PING"])
      if permitted {
        #expect(replies[0].hasPrefix("OK reloaded users=40 items=60 created_at=seed-2"))
        #expect(replies[1].contains(" created_at=seed-2 "), "\(replies[1])")
      } else {
        #expect(replies[0] == "ERR not permitted: RELOAD is disabled for this client")
        #expect(replies[1].contains(" created_at=seed-1 "), "\(replies[1])")
        #expect(replies[1].contains(" reloads=0 "), "\(replies[1])")
        // SIGHUP comes from the host, not from a client, so it still reloads.
        server.signal(SIGHUP)
        #expect(server.child.waitForLog("reloaded feature store created_at=seed-2"))
      }
      #expect(replies[2] == "PONG")
      #expect(server.stop() == 0)
    }
  }

  // MARK: - Requests name no files

  static let pathRequests: [(request: String, reply: String)] = [
    ("RELOAD /etc/passwd", "ERR wrong number of arguments for RELOAD; usage: RELOAD"),
    ("RELOAD ../../other.sqlite now", "ERR wrong number of arguments for RELOAD; usage: RELOAD"),
    ("INFO /etc", "ERR wrong number of arguments for INFO; usage: INFO"),
    ("SCORE /etc/passwd 7", "ERR invalid id '/etc/passwd'; ids are integers from 0 to 2147483647"),
    ("SCORES 3 ../../store.sqlite", "ERR invalid id '../../store.sqlite'; ids are integers from 0 to 2147483647"),
    ("EXPLAIN 3 file:///etc/shadow", "ERR invalid id 'file:///etc/shadow'; ids are integers from 0 to 2147483647"),
    ("RECOMMEND ~/.ssh/id_rsa", "ERR invalid id '~/.ssh/id_rsa'; ids are integers from 0 to 2147483647"),
    ("RECOMMEND 3 /dev/zero", "ERR invalid count '/dev/zero'; k is an integer from 1 to 1000"),
    (
      "LOAD /etc/passwd",
      "ERR unknown command 'LOAD'; commands are SCORE, SCORES, RECOMMEND, EXPLAIN, INFO, PING, RELOAD, QUIT"
    ),
  ]

  @Test func requestsWithPathsAreRejected() throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 1)
      let server = try BlendServer(store: store, in: directory)
      let replies = try server.exchange(Self.pathRequests.map(\.request) + ["INFO"])
      for (expected, reply) in zip(Self.pathRequests, replies) {
        #expect(reply == expected.reply, "\(expected.request)")
      }
      #expect(replies.last?.contains(" reloads=0 failed_reloads=0 ") == true, "\(replies.last ?? "")")
      #expect(server.stop() == 0)
    }
  }

  // MARK: - File access

  /// The path of a working `strace`, found on `PATH`.
  static let strace: String? = {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
    guard
      let path = directories.map({ $0 + "/strace" }).first(where: {
        FileManager.default.isExecutableFile(atPath: $0)
      })
    else { return nil }
    // ptrace may be forbidden, as in many containers; then strace fails on /bin/true.
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: path)
    probe.arguments = ["-o", "/dev/null", "/bin/true"]
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return nil }
    probe.waitUntilExit()
    return probe.terminationStatus == 0 ? path : nil
  }()

  /// Returns the absolute paths quoted in one strace line.
  static func quotedPaths(_ line: Substring) -> [String] {
    line.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
      .filter { $0.offset % 2 == 1 && $0.element.hasPrefix("/") }.map { String($0.element) }
  }

  @Test(.enabled(if: strace != nil, "strace is missing or cannot trace"))
  func servingOpensOnlyStoreReadOnly() throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 1)
      let trace = directory.file("strace.log")
      let server = try BlendServer(
        store: store, in: directory,
        wrapper: [Self.strace!, "-f", "-qq", "-e", "trace=%file", "-e", "signal=none", "-o", trace])
      // Everything after this point happens while serving.
      let startupLines = (fileBytes(trace) ?? []).filter { $0 == 0x0A }.count

      let replies = try server.exchange(Self.pathRequests.map(\.request) + ["RELOAD", "PING"])
      #expect(replies.suffix(2).first?.hasPrefix("OK reloaded") == true, "\(replies)")
      server.signal(SIGHUP)
      #expect(server.child.waitForLog("trigger=SIGHUP"))
      #expect(server.stop() == 0)

      let log = String(decoding: try #require(fileBytes(trace)), as: UTF8.self)
      let lines = log.split(separator: "\n")
      // Every open of the store, at start-up and on both reloads, is read-only.
      let storeOpens = lines.filter { $0.contains("open") && $0.contains("\"\(store)\"") }
      #expect(storeOpens.count >= 3, "\(storeOpens)")
      for line in storeOpens {
        #expect(line.contains("O_RDONLY"), "\(line)")
        for flag in ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"] {
          #expect(!line.contains(flag), "\(line)")
        }
      }

      // While serving, only the store and the directories on its path are looked at (SQLite
      // resolves the path one component at a time), and nothing is created, changed or
      // removed.
      let storeAncestors = Set(
        (1..<store.split(separator: "/").count).map {
          "/" + store.split(separator: "/").prefix($0).joined(separator: "/")
        })
      let reading = ["openat(", "newfstatat(", "stat(", "lstat(", "statx(", "access(", "faccessat", "readlink"]
      for line in lines.dropFirst(startupLines) {
        // Each line starts with the thread id and spaces.
        let call = line.drop { $0.isNumber }.drop { $0 == " " }
        // A call that another thread interrupted ends on a line of its own.
        if call.hasPrefix("<... ") { continue }
        #expect(reading.contains { call.hasPrefix($0) }, "\(line)")
        for path in Self.quotedPaths(line) where path != store {
          #expect(storeAncestors.contains(path), "\(line)")
        }
      }
    }
  }

  @Test func openStoreDescriptorIsReadOnly() throws {
    try ScratchDirectory.with { directory in
      // A candidate-limited store stays open while serving; a dense one is closed after
      // loading.
      let store = directory.file("store.sqlite")
      try BlendStoreFaultEndToEndTests.writeStore(.candidates, at: store, version: 1, in: directory)
      let server = try BlendServer(store: store, in: directory)
      #expect(try server.exchange(["SCORE 1 1"])[0].hasPrefix("ERR") == false)

      let fdDirectory = "/proc/\(server.pid)/fd"
      let descriptors = try FileManager.default.contentsOfDirectory(atPath: fdDirectory).filter {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDirectory + "/" + $0)) == store
      }
      #expect(descriptors.count == 1, "\(descriptors)")
      for descriptor in descriptors {
        // fdinfo gives the open flags in octal; the access mode is the low two bits.
        let info = try String(contentsOfFile: "/proc/\(server.pid)/fdinfo/\(descriptor)", encoding: .utf8)
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags:") }
          .flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) }
        let mode = try #require(flags, "\(info)") & Int(O_ACCMODE)
        #expect(mode == Int(O_RDONLY), "\(info)")
      }
      #expect(server.stop() == 0)
    }
  }

  @Test(.enabled(if: TmpfsMount.isAvailable || geteuid() != 0, "root needs a read-only mount"))
  func readOnlyStoreServesAndReloads() throws {
    try ScratchDirectory.with { directory in
      let storeDirectory = directory.file("store")
      try FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: false)
      let mount = TmpfsMount.isAvailable ? try TmpfsMount(at: storeDirectory, kilobytes: 4096) : nil
      let store = storeDirectory + "/store.sqlite"
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 1)
      try? FileManager.default.removeItem(atPath: store + ".lock")
      if let mount {
        try mount.remountReadOnly()
      } else {
        chmod(store, 0o444)
        chmod(storeDirectory, 0o555)
      }
      defer { chmod(storeDirectory, 0o755) }

      let server = try BlendServer(store: store, in: directory)
      let replies = try server.exchange(["RELOAD", "SCORE 3 7"])
      #expect(replies[0].hasPrefix("OK reloaded users=40 items=60 "), "\(replies[0])")
      #expect(!replies[1].hasPrefix("ERR"), "\(replies[1])")
      #expect(try directory.entries("store") == ["store.sqlite"])
      #expect(server.stop() == 0)
      withExtendedLifetime(mount) {}
    }
  }
}
