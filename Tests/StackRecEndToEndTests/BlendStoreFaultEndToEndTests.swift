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

  /// A store layout: every score (dense), or each user's best items read from the file on
  /// demand (candidates).
  enum Layout: String, Sendable, CaseIterable {
    case dense, candidates
  }

  /// Writes a store of `layout` at `path`, different for each `version`. The candidate
  /// layout comes from the built precompute, which replaces the file by rename.
  static func writeStore(_ layout: Layout, at path: String, version: UInt64, in directory: ScratchDirectory)
    throws
  {
    switch layout {
    case .dense:
      try BlendTCPEndToEndTests.writeStore(at: path, seed: version)
    case .candidates:
      let ratings = directory.file("ratings-\(version).csv")
      try writeFile(ratings, ratingsCSV(users: 30, items: 40, seed: version))
      let child = try ChildProcess.run(
        "stackrec-precompute",
        ["--ratings", ratings, "--candidates", "5", "--out", path, "--report-dir",
          directory.file("report-\(version)"), "--quiet"],
        logDirectory: directory.path, label: "precompute-\(version)")
      try #require(child.status == 0, "\(child.errorOutput)")
    }
  }

  /// SCORE requests over the store's users and items and unknown ids, and their replies.
  static func requestsAndReplies(_ store: String) throws -> (requests: [String], replies: [String]) {
    let snapshot = try FeatureStoreReader.load(path: store)
    var generator = SeededGenerator(seed: 17)
    var requests: [String] = []
    var replies: [String] = []
    for _ in 0..<80 {
      let user = generator.nextInt(below: 10) == 0 ? 99_999 : snapshot.users.ids[generator.nextInt(below: snapshot.userCount)]
      let item = generator.nextInt(below: 10) == 0 ? 88_888 : snapshot.items.ids[generator.nextInt(below: snapshot.itemCount)]
      let result = try snapshot.score(
        user: snapshot.users.index(of: user).map(Int.init),
        item: snapshot.items.index(of: item).map(Int.init))
      var bytes: [UInt8] = []
      TextReplyEncoder.append(.score(result.value, result.fallback), to: &bytes)
      requests.append("SCORE \(user) \(item)")
      replies.append(String(decoding: bytes.dropLast(), as: UTF8.self))
    }
    return (requests, replies)
  }

  /// Counts the occurrences of `text` in `log`.
  static func count(_ text: String, in log: String) -> Int {
    log.components(separatedBy: text).count - 1
  }

  @Test(arguments: ["RELOAD", "SIGHUP"], Layout.allCases)
  func damagedStoreKeepsOldStoreServing(trigger: String, layout: Layout) throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try Self.writeStore(layout, at: store, version: 1, in: directory)
      let good = try #require(fileBytes(store))
      let createdAt = try FeatureStoreReader.load(path: store).header.createdAt
      let (lines, oldReplies) = try Self.requestsAndReplies(store)
      let server = try BlendServer(store: store, in: directory)
      // The first round leaves users of a candidate-limited store uncached, so that later
      // rounds read them from the file that the server keeps open.
      #expect(try server.exchange(Array(lines.prefix(20))) == Array(oldReplies.prefix(20)))

      for (position, fault) in Self.faults.enumerated() {
        // The damaged file replaces the store under a new inode, as a rename does.
        try? FileManager.default.removeItem(atPath: store)
        try fault.apply(store, good)

        if trigger == "RELOAD" {
          let reply = try server.exchange(["RELOAD"])[0]
          #expect(reply.hasPrefix("ERR reload failed: \(store): "), "\(fault): \(reply)")
          #expect(reply.contains(fault.reason), "\(fault): \(reply)")
          #expect(reply.hasSuffix("still serving the store created at \(createdAt)"), "\(fault): \(reply)")
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
        #expect(line.contains("serving_created_at=\(createdAt)"), "\(fault): \(line)")
        #expect(line.hasSuffix("trigger=\(trigger == "RELOAD" ? "request" : "SIGHUP")"), "\(line)")
        #expect(try server.exchange(lines) == oldReplies, "\(fault)")
      }

      // A valid new store replaces the old one.
      try? FileManager.default.removeItem(atPath: store)
      try Self.writeStore(layout, at: store, version: 2, in: directory)
      let newCreatedAt = try FeatureStoreReader.load(path: store).header.createdAt
      let newReplies = try Self.requestsAndReplies(store).replies
      if trigger == "RELOAD" {
        #expect(try server.exchange(["RELOAD"])[0].hasPrefix("OK reloaded "))
      } else {
        server.signal(SIGHUP)
        #expect(server.child.waitForLog("reloaded feature store created_at=\(newCreatedAt)"))
      }
      #expect(try server.exchange(lines) == newReplies)
      let info = try server.exchange(["INFO"])[0]
      #expect(info.contains(" reloads=1 "), "\(info)")
      #expect(info.contains(" failed_reloads=\(Self.faults.count) "), "\(info)")
      #expect(server.stop() == 0)
    }
  }

  @Test func overwrittenCandidateStoreFailsRequestsNotServer() throws {
    try ScratchDirectory.with { directory in
      let store = directory.file("store.sqlite")
      try Self.writeStore(.candidates, at: store, version: 1, in: directory)
      let size = try #require(fileBytes(store)).count
      let server = try BlendServer(store: store, in: directory)
      #expect(try server.exchange(["SCORE 1 1"])[0].hasPrefix("ERR") == false)

      // Overwriting the open file in place, as cp does, changes what the server reads for
      // users it has not cached yet. Rename a new store into place instead.
      var generator = SeededGenerator(seed: 4)
      let handle = try #require(FileHandle(forWritingAtPath: store))
      try handle.write(contentsOf: Data((0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }))
      try handle.close()
      let requests = (2...30).flatMap { user in (1...5).map { "SCORE \(user) \($0)" } } + ["PING"]
      let replies = try server.exchange(requests)
      #expect(replies.dropLast().allSatisfy { $0.hasPrefix("ERR internal error: cannot read the stored scores") || !$0.hasPrefix("ERR") })
      #expect(replies.contains { $0.hasPrefix("ERR internal error") })
      #expect(replies.last == "PONG")
      // One line per error, not one per request: repeats are counted.
      #expect(Self.count("cannot read the store", in: server.log) == 1, "\(server.log)")

      try FileManager.default.removeItem(atPath: store)
      try Self.writeStore(.candidates, at: store, version: 2, in: directory)
      #expect(try server.exchange(["RELOAD"])[0].hasPrefix("OK reloaded "))
      #expect(try server.exchange(Array(requests.prefix(40))).allSatisfy { !$0.hasPrefix("ERR") })
      #expect(server.stop() == 0)
    }
  }
}
