import Foundation
import Testing

@testable import StackRec

@Suite struct FeatureStoreWriterTests {
  private static let firstCreatedAt = "2026-01-01T00:00:00.000Z"
  private static let secondCreatedAt = "2026-02-02T00:00:00.000Z"

  /// Returns every blended score of a snapshot, row by row.
  private func allScores(_ snapshot: StoreSnapshot) throws -> [Float] {
    var scores: [Float] = []
    for user in 0..<snapshot.userCount {
      for item in 0..<snapshot.itemCount {
        scores.append(try snapshot.score(user: user, item: item).value)
      }
    }
    return scores
  }

  // MARK: - Invalid scores

  @Test(arguments: [Float.nan, .infinity, -.infinity])
  func nonFiniteScoreIsRejected(value: Float) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      var content = StoreFixtures.randomContent(seed: 31, userCount: 6, itemCount: 8)
      content.models[1].scores[2 * 8 + 3] = value

      let error = #expect(throws: StoreError.self) {
        try FeatureStoreWriter.write(content, to: path)
      }
      guard case .invalidScore(let model, let user, let item, let stored)? = error else {
        Issue.record("expected invalidScore, got \(String(describing: error))")
        return
      }
      #expect(model == "additive")
      #expect(user == 2)
      #expect(item == 3)
      #expect(stored.bitPattern == value.bitPattern)
      // Only the lock file may remain: no store and no temporary file.
      #expect(try directory.entries() == ["store.sqlite.lock"])
    }
  }

  @Test(arguments: [
    (Fallback.unknownUser, 2, Float.nan), (.unknownItem, 4, .infinity),
    (.unknownUserAndItem, 0, -.infinity),
  ])
  func nonFiniteFallbackIsRejected(fallback: Fallback, index: Int, value: Float) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      var content = StoreFixtures.randomContent(seed: 31, userCount: 6, itemCount: 8)
      switch fallback {
      case .unknownUser: content.models[2].unknownUserScores[index] = value
      case .unknownItem: content.models[2].unknownItemScores[index] = value
      default: content.models[2].unknownUserAndItemScore = value
      }

      let error = #expect(throws: StoreError.self) {
        try FeatureStoreWriter.write(content, to: path)
      }
      guard case .invalidFallback(let model, let kind, let position, let stored)? = error else {
        Issue.record("expected invalidFallback, got \(String(describing: error))")
        return
      }
      #expect(model == "noisy")
      #expect(kind == fallback)
      #expect(position == index)
      #expect(stored.bitPattern == value.bitPattern)
      #expect(error?.description.contains("only finite scores can be stored") == true)
      #expect(try directory.entries() == ["store.sqlite.lock"])
    }
  }

  // MARK: - Atomic publication

  @Test func secondWriteReplacesStore() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      let first = StoreFixtures.randomContent(seed: 32, createdAt: Self.firstCreatedAt)
      let second = StoreFixtures.randomContent(seed: 33, createdAt: Self.secondCreatedAt)
      _ = try FeatureStoreWriter.write(first, to: path)
      let summary = try FeatureStoreWriter.write(second, to: path)

      #expect(try FeatureStoreReader.load(path: path).header.createdAt == Self.secondCreatedAt)
      #expect(summary.bytes == (try readStoreTestFile(path)).count)
      #expect(summary.rawScoreBytes == 40 * 30 * 3 * 4)
      #expect(try directory.entries() == ["store.sqlite", "store.sqlite.lock"])
    }
  }

  @Test(arguments: [FeatureStoreWriter.Stage.afterUsers, .beforeRename])
  func failedWriteKeepsPreviousStore(stage: FeatureStoreWriter.Stage) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      let first = StoreFixtures.randomContent(seed: 34, createdAt: Self.firstCreatedAt)
      let second = StoreFixtures.randomContent(seed: 35, createdAt: Self.secondCreatedAt)
      _ = try FeatureStoreWriter.write(first, to: path)
      let bytesBefore = try readStoreTestFile(path)
      let scoresBefore = try allScores(try FeatureStoreReader.load(path: path))

      #expect(throws: OutputError.self) {
        try FeatureStoreWriter.write(second, to: path, failAt: stage)
      }

      #expect(try readStoreTestFile(path) == bytesBefore)
      let snapshot = try FeatureStoreReader.load(path: path)
      #expect(snapshot.header.createdAt == Self.firstCreatedAt)
      #expect(try allScores(snapshot) == scoresBefore)
      #expect(try directory.entries() == ["store.sqlite", "store.sqlite.lock"])
    }
  }

  @Test func failedFirstWriteLeavesNoStore() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      let content = StoreFixtures.randomContent(seed: 36)
      #expect(throws: OutputError.self) {
        try FeatureStoreWriter.write(content, to: path, failAt: .beforeRename)
      }
      #expect(try directory.entries() == ["store.sqlite.lock"])
    }
  }

  @Test func missingDirectoriesAreCreated() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("a/b/store.sqlite")
      let content = StoreFixtures.randomContent(seed: 37, userCount: 3, itemCount: 4)
      _ = try FeatureStoreWriter.write(content, to: path)
      #expect(try FeatureStoreReader.load(path: path).userCount == 3)
    }
  }

  // MARK: - Lock

  @Test func heldLockRejectsSecondWriter() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      let content = StoreFixtures.randomContent(seed: 38, userCount: 4, itemCount: 5)
      let lock = try #require(try FileLock(path: path + ".lock", wait: false))

      let error = #expect(throws: StoreError.self) {
        try FeatureStoreWriter.write(content, to: path)
      }
      #expect(error == .locked(path: path, lockPath: path + ".lock"))
      #expect(error?.description.contains("--wait-lock") == true)
      #expect(try directory.entries() == ["store.sqlite.lock"])

      lock.release()
      _ = try FeatureStoreWriter.write(content, to: path)
      #expect(try FeatureStoreReader.load(path: path).userCount == 4)
    }
  }

  @Test func waitingWriterProceedsAfterRelease() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      let lockPath = path + ".lock"
      let content = StoreFixtures.randomContent(seed: 39, userCount: 4, itemCount: 5)

      // Another thread takes the lock, holds it for 200 ms, then releases it.
      let lockTaken = DispatchSemaphore(value: 0)
      let lockReleased = DispatchSemaphore(value: 0)
      Thread.detachNewThread {
        let lock = (try? FileLock(path: lockPath, wait: false)) ?? nil
        lockTaken.signal()
        usleep(200_000)
        lock?.release()
        lockReleased.signal()
      }
      lockTaken.wait()

      let start = Date()
      _ = try FeatureStoreWriter.write(content, to: path, waitForLock: true)
      let waited = Date().timeIntervalSince(start)
      lockReleased.wait()

      #expect(waited >= 0.15, "the writer returned after \(waited) s")
      #expect(try FeatureStoreReader.load(path: path).header.createdAt == content.createdAt)
    }
  }
}
