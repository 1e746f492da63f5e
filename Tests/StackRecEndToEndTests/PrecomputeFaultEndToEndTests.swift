import Foundation
import Glibc
import StackRec
import Testing

/// Runs the built `stackrec-precompute` into faults: a signal in the middle of writing the
/// store, a full disk, a file size limit, a read-only directory, and a second precompute
/// writing the same store. In every case the store published before stays byte for byte the
/// same and loads, and no temporary file stays behind.
@Suite(.serialized) struct PrecomputeFaultEndToEndTests {
  /// Writes a small ratings file and publishes a store from it.
  ///
  /// - Returns: the store's path, the ratings file, and the store's bytes.
  static func publishFirstStore(in directory: ScratchDirectory) throws -> (
    store: String, ratings: String, bytes: [UInt8]
  ) {
    let ratings = directory.file("small.csv")
    try writeFile(ratings, ratingsCSV(users: 30, items: 40))
    let store = directory.file("out/store.sqlite")
    let first = try runPrecompute(ratings: ratings, store: store, in: directory, label: "first")
    try #require(first.status == 0, "first precompute failed: \(first.errorOutput)")
    return (store, ratings, try #require(fileBytes(store)))
  }

  /// Synthetic ratings large enough that writing the store takes a noticeable time.
  static func writeLargeRatings(in directory: ScratchDirectory) throws -> String {
    let data = directory.file("large")
    try SyntheticRatings(users: 800, items: 1500, ratings: 80_000, seed: 5).write(to: data)
    return data + "/ratings.csv"
  }

  /// Starts a precompute on `ratings` and stops it (SIGSTOP) as soon as it creates its
  /// temporary store file, trying again when the run finishes first.
  ///
  /// - Returns: the stopped process and the temporary file's name.
  static func stopDuringStoreWrite(ratings: String, store: String, in directory: ScratchDirectory)
    throws -> (ChildProcess, String)
  {
    let storeName = URL(fileURLWithPath: store).lastPathComponent
    for attempt in 1...5 {
      let watch = try CreationWatch(directory: URL(fileURLWithPath: store).deletingLastPathComponent().path)
      let child = try ChildProcess(
        "stackrec-precompute",
        ["--ratings", ratings, "--out", store, "--report-dir", directory.file("report-large"),
          "--quiet"],
        logDirectory: directory.path, label: "large-\(attempt)")
      let name = watch.waitForFile(timeout: .seconds(120), keepWaiting: { child.isRunning }) {
        $0.hasPrefix(storeName + ".tmp-")
      }
      if let name {
        child.signal(SIGSTOP)
        return (child, name)
      }
      child.wait(timeout: .seconds(10))
      try #require(child.status == 0, "large precompute failed: \(child.errorOutput)")
    }
    throw LineClient.Failure(description: "every run wrote its store before it could be stopped")
  }

  // MARK: - Signals

  @Test func killedWriteLeavesFileNextRunRemoves() throws {
    try ScratchDirectory.with { directory in
      let (store, ratings, before) = try Self.publishFirstStore(in: directory)
      let large = try Self.writeLargeRatings(in: directory)

      let (child, temporary) = try Self.stopDuringStoreWrite(
        ratings: large, store: store, in: directory)
      #expect(fileBytes(store) == before, "the store changed before the rename")
      child.signal(SIGKILL)
      #expect(child.wait(timeout: .seconds(10)))
      #expect(child.wasSignalled)
      #expect(child.status == SIGKILL)
      // SIGKILL cannot be handled, so the temporary file stays until the next run.
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock", temporary])
      #expect(fileBytes(store) == before)
      #expect(try FeatureStoreReader.load(path: store).userCount == 30)

      let next = try runPrecompute(ratings: ratings, store: store, in: directory, label: "next")
      #expect(next.status == 0, "\(next.errorOutput)")
      #expect(
        next.errorOutput.contains(
          "removed a temporary file that an interrupted run left path=\(directory.file("out/" + temporary))"),
        "\(next.errorOutput)")
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock"])
    }
  }

  @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
  func signalDuringWriteRemovesTemporaryFile(signal: Int32) throws {
    try ScratchDirectory.with { directory in
      let (store, _, before) = try Self.publishFirstStore(in: directory)
      let large = try Self.writeLargeRatings(in: directory)

      let (child, temporary) = try Self.stopDuringStoreWrite(
        ratings: large, store: store, in: directory)
      #expect(try directory.entries("out").contains(temporary))
      child.signal(signal)
      child.signal(SIGCONT)
      #expect(child.wait(timeout: .seconds(10)))

      // The process removes its temporary file, then dies of the signal as by default.
      #expect(child.wasSignalled)
      #expect(child.status == signal)
      #expect(child.errorOutput.contains("stopping on a signal"), "\(child.errorOutput)")
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock"])
      #expect(fileBytes(store) == before)
      #expect(try FeatureStoreReader.load(path: store).userCount == 30)
    }
  }

  // MARK: - Disk faults

  /// Writes a ratings file whose store takes about 240 KiB, more than the limits below allow.
  static func writeMediumRatings(in directory: ScratchDirectory) throws -> String {
    let ratings = directory.file("medium.csv")
    try writeFile(ratings, ratingsCSV(users: 200, items: 300, density: 0.3, seed: 12))
    return ratings
  }

  @Test func fileSizeLimitFailsAndKeepsStore() throws {
    try ScratchDirectory.with { directory in
      let (store, _, before) = try Self.publishFirstStore(in: directory)
      let medium = try Self.writeMediumRatings(in: directory)

      // 64 KiB: the small store fits, the new one does not.
      let child = try ChildProcess.run(
        "stackrec-precompute",
        ["--ratings", medium, "--out", store, "--report-dir", directory.file("report-first"),
          "--quiet"],
        logDirectory: directory.path, label: "limited", limits: ["-f 64"])
      #expect(!child.wasSignalled, "ended by signal \(child.status)")
      #expect(child.status == 1)
      #expect(child.errorOutput.hasPrefix("error: \(store).tmp-"), "\(child.errorOutput)")
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock"])
      #expect(fileBytes(store) == before)
      #expect(try FeatureStoreReader.load(path: store).userCount == 30)
    }
  }

  @Test(.enabled(if: TmpfsMount.isAvailable, "mounting a tmpfs needs root"))
  func fullDiskFailsAndKeepsStore() throws {
    try ScratchDirectory.with { directory in
      let medium = try Self.writeMediumRatings(in: directory)
      try FileManager.default.createDirectory(atPath: directory.file("out"), withIntermediateDirectories: false)
      let mount = try TmpfsMount(at: directory.file("out"), kilobytes: 128)
      let (store, _, before) = try Self.publishFirstStore(in: directory)

      let child = try runPrecompute(ratings: medium, store: store, in: directory, label: "full")
      #expect(child.status == 1)
      #expect(child.errorOutput.contains("disk is full"), "\(child.errorOutput)")
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock"])
      #expect(fileBytes(store) == before)
      #expect(try FeatureStoreReader.load(path: store).userCount == 30)
      withExtendedLifetime(mount) {}
    }
  }

  @Test(.enabled(if: TmpfsMount.isAvailable || geteuid() != 0, "root needs a read-only mount"))
  func readOnlyDirectoryFailsAndKeepsStore() throws {
    try ScratchDirectory.with { directory in
      let out = directory.file("out")
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
      let mount = TmpfsMount.isAvailable ? try TmpfsMount(at: out, kilobytes: 1024) : nil
      let (store, ratings, before) = try Self.publishFirstStore(in: directory)
      let reason: String
      if let mount {
        try mount.remountReadOnly()
        reason = "Read-only file system"
      } else {
        chmod(out, 0o555)
        reason = "Permission denied"
      }
      defer { chmod(out, 0o755) }

      let child = try runPrecompute(ratings: ratings, store: store, in: directory, label: "readonly")
      #expect(child.status == 1)
      #expect(child.errorOutput.hasPrefix("error: "), "\(child.errorOutput)")
      #expect(child.errorOutput.contains(reason) || child.errorOutput.contains("unable to open"),
        "\(child.errorOutput)")
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock"])
      #expect(fileBytes(store) == before)
    }
  }

  // MARK: - Two writers

  @Test func heldLockFailsSecondRun() throws {
    try ScratchDirectory.with { directory in
      let (store, ratings, before) = try Self.publishFirstStore(in: directory)
      let lock = try #require(try FileLock(path: store + ".lock", wait: false))
      defer { lock.release() }

      let child = try runPrecompute(ratings: ratings, store: store, in: directory, label: "second")
      #expect(child.status == 1)
      #expect(
        child.errorOutput
          == "error: \(store): another stackrec-precompute is writing this store (lock "
          + "\(store).lock is held); wait for it to finish or pass --wait-lock\n")
      #expect(fileBytes(store) == before)
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock"])
    }
  }

  @Test func waitLockRunsAfterRelease() throws {
    try ScratchDirectory.with { directory in
      let (store, ratings, before) = try Self.publishFirstStore(in: directory)
      let lock = try #require(try FileLock(path: store + ".lock", wait: false))

      let child = try ChildProcess(
        "stackrec-precompute",
        ["--ratings", ratings, "--out", store, "--report-dir", directory.file("report-waiting"),
          "--wait-lock", "--quiet"],
        logDirectory: directory.path, label: "waiting")
      // The run takes well under a second on this data; then it waits for the lock.
      usleep(1_500_000)
      #expect(child.isRunning)
      #expect(fileBytes(store) == before)

      lock.release()
      #expect(child.wait(timeout: .seconds(30)))
      #expect(child.status == 0, "\(child.errorOutput)")
      #expect(fileBytes(store) != before)
      #expect(try FeatureStoreReader.load(path: store).userCount == 30)
    }
  }

  @Test(arguments: [false, true])
  func concurrentRunsLeaveOneValidStore(waitForLock: Bool) throws {
    try ScratchDirectory.with { directory in
      let (store, _, _) = try Self.publishFirstStore(in: directory)
      let medium = try Self.writeMediumRatings(in: directory)
      let children = try (0..<2).map { index in
        try ChildProcess(
          "stackrec-precompute",
          ["--ratings", medium, "--out", store, "--report-dir", directory.file("report-\(index)"),
            "--quiet"] + (waitForLock ? ["--wait-lock"] : []),
          logDirectory: directory.path, label: "concurrent-\(index)")
      }
      for child in children {
        #expect(child.wait(timeout: .seconds(60)))
        // Without --wait-lock, a run that finds the lock held fails with this message.
        let lostRace = !waitForLock && child.status == 1
          && child.errorOutput.contains("another stackrec-precompute is writing this store")
        #expect(child.status == 0 || lostRace, "\(child.errorOutput)")
      }
      #expect(children.contains { $0.status == 0 })
      #expect(try FeatureStoreReader.load(path: store).userCount == 200)
      #expect(try directory.entries("out") == ["store.sqlite", "store.sqlite.lock"])
    }
  }
}
