import Foundation
import Glibc
import StackRec
import Testing

/// Damages the store file under a running `stackrec-blend` and reloads it with RELOAD or
/// SIGHUP. Every damaged file must be rejected with a log line that gives the reason, and
/// the blender must keep answering from the store it loaded before. A valid new store then
/// loads.
@Suite struct BlendStoreFaultEndToEndTests {
  /// One way to damage the store file, and the reason the reload must give.
  struct Fault: Sendable, CustomStringConvertible {
    var description: String
    var reason: String
    var apply: @Sendable (_ path: String, _ good: [UInt8]) throws -> Void
  }

  static let faults: [Fault] = [
    Fault(description: "deleted", reason: "feature store not found") { path, _ in
      unlink(path)
    },
    Fault(description: "random bytes", reason: "not a stackrec feature store") { path, _ in
      var generator = SeededGenerator(seed: 9)
      try writeFile(path, (0..<8192).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
    },
    Fault(description: "empty file", reason: "its application id is not stackrec's") { path, _ in
      try writeFile(path, [])
    },
    Fault(description: "newer format version", reason: "format version 2 is not supported") {
      path, good in
      // PRAGMA user_version is the big-endian integer at offset 60 of the SQLite header.
      var bytes = good
      bytes.replaceSubrange(60..<64, with: [0, 0, 0, 2])
      try writeFile(path, bytes)
    },
    Fault(description: "truncated to half", reason: "corrupt feature store") { path, good in
      try writeFile(path, Array(good.prefix(good.count / 2)))
    },
    Fault(description: "a directory in its place", reason: "not a stackrec feature store: it is a directory") {
      path, _ in
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    },
  ]

  /// Requests whose replies are compared before and after each failed reload.
  static let requests = BlendTCPEndToEndTests.makeRequests(count: 60, seed: 17)

  static func expectedReplies(_ store: String) throws -> [String] {
    let snapshot = try FeatureStoreReader.load(path: store)
    return requests.map { BlendTCPEndToEndTests.expectedReply($0.request, snapshot) }
  }

  /// Counts the occurrences of `text` in `log`.
  static func count(_ text: String, in log: String) -> Int {
    log.components(separatedBy: text).count - 1
  }

  @Test(arguments: ["RELOAD", "SIGHUP"])
  func damagedStoreKeepsOldStoreServing(trigger: String) throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 1)
      let good = try #require(fileBytes(store))
      let oldReplies = try Self.expectedReplies(store)
      let server = try BlendServer(store: store, in: directory)
      let lines = Self.requests.map(\.line)
      #expect(try server.exchange(lines) == oldReplies)

      for (position, fault) in Self.faults.enumerated() {
        try? FileManager.default.removeItem(atPath: store)
        try fault.apply(store, good)

        if trigger == "RELOAD" {
          let reply = try server.exchange(["RELOAD"])[0]
          #expect(reply.hasPrefix("ERR reload failed: \(store): "), "\(fault): \(reply)")
          #expect(reply.contains(fault.reason), "\(fault): \(reply)")
          #expect(reply.hasSuffix("still serving the store created at seed-1"), "\(fault): \(reply)")
        } else {
          server.signal(SIGHUP)
          let deadline = ContinuousClock.now + .seconds(10)
          while Self.count("trigger=SIGHUP", in: server.log) <= position && .now < deadline {
            usleep(10_000)
          }
        }
        let logged = server.log.split(separator: "\n").filter {
          $0.contains(" error blend: reload failed; still serving the previous store ")
        }
        #expect(logged.count == position + 1, "\(fault): \(server.log)")
        let line = logged.last.map(String.init) ?? ""
        #expect(line.contains("error=\(store): "), "\(fault): \(line)")
        #expect(line.contains(fault.reason), "\(fault): \(line)")
        #expect(line.contains("serving_created_at=seed-1"), "\(fault): \(line)")
        #expect(line.hasSuffix("trigger=\(trigger == "RELOAD" ? "request" : "SIGHUP")"), "\(line)")
        #expect(try server.exchange(lines) == oldReplies, "\(fault)")
      }

      // A valid new store replaces the old one.
      try? FileManager.default.removeItem(atPath: store)
      try BlendTCPEndToEndTests.writeStore(at: store, seed: 2)
      let newReplies = try Self.expectedReplies(store)
      if trigger == "RELOAD" {
        #expect(try server.exchange(["RELOAD"])[0].hasPrefix("OK reloaded users=40 items=60 "))
      } else {
        server.signal(SIGHUP)
        #expect(server.child.waitForLog("reloaded feature store created_at=seed-2"))
      }
      #expect(try server.exchange(lines) == newReplies)
      let info = try server.exchange(["INFO"])[0]
      #expect(info.contains(" reloads=1 "), "\(info)")
      #expect(info.contains(" failed_reloads=\(Self.faults.count) "), "\(info)")
      #expect(server.stop() == 0)
    }
  }
}
