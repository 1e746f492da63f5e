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
    try SyntheticRatings(users: 1500, items: 2000, ratings: 150_000, seed: 5).write(to: data)
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
}
