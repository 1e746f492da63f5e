import Foundation
import Glibc
import Testing

@testable import StackRec

/// Content that the writer must reject, and files that stopped writers leave behind. Each
/// rejection test checks that a store published before the failure stays byte for byte the
/// same.
@Suite struct FeatureStoreWriterFaultTests {
  // MARK: - Invalid meta-model

  /// A blend with one value replaced, and the term that the error must name.
  struct BrokenBlend: Sendable, CustomStringConvertible {
    var description: String
    var term: String
    var blend: BlendModel
  }

  static let brokenBlends: [BrokenBlend] = {
    let good = BlendModel(
      features: [.constant, .logUserSupport], centers: [0, 1.5], scales: [1, 0.5],
      intercepts: [0.2, 0.1], coefficients: [[0.3, 0.01], [0.4, 0.02], [0.3, -0.01]])
    func broken(_ description: String, _ term: String, _ change: (inout BlendModel) -> Void)
      -> BrokenBlend
    {
      var blend = good
      change(&blend)
      return BrokenBlend(description: description, term: term, blend: blend)
    }
    return [
      broken("NaN intercept", "intercept for feature one") { $0.intercepts[0] = .nan },
      broken("infinite weight", "weight of model additive for feature log_user_support") {
        $0.coefficients[1][1] = .infinity
      },
      broken("NaN center", "center of feature log_user_support") { $0.centers[1] = .nan },
      broken("zero scale", "scale of feature log_user_support") { $0.scales[1] = 0 },
      broken("negative infinite scale", "scale of feature log_user_support") {
        $0.scales[1] = -.infinity
      },
    ]
  }()

  @Test(arguments: brokenBlends)
  func invalidBlendKeepsPreviousStore(broken: BrokenBlend) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      _ = try FeatureStoreWriter.write(StoreFixtures.randomContent(seed: 41), to: path)
      let before = try readStoreTestFile(path)

      var content = StoreFixtures.randomContent(seed: 42)
      content.blend = broken.blend
      let error = #expect(throws: StoreError.self) {
        try FeatureStoreWriter.write(content, to: path)
      }
      guard case .invalidBlend(let term, _)? = error else {
        Issue.record("expected invalidBlend, got \(String(describing: error))")
        return
      }
      #expect(term == broken.term)
      #expect(error?.description.contains(broken.term) == true)
      #expect(try readStoreTestFile(path) == before)
      #expect(try directory.entries() == ["store.sqlite", "store.sqlite.lock"])
      #expect(try FeatureStoreReader.load(path: path).header.createdAt == "2026-01-02T03:04:05.678Z")
    }
  }

  // MARK: - Files of stopped writers

  /// Names that a writer killed during `writeDatabase` leaves beside the store, and names
  /// that only look similar.
  static let staleName = "store.sqlite.tmp-4242-1a2b3c4d"
  static let similarNames = [
    "store.sqlite.tmp-notes", "store.sqlite.tmp-12-xyz", "store.sqlite.tmp--1f",
    "store.sqlite.tmp-12-1f-3", "other.sqlite.tmp-12-1f", "store.sqlite.lock.tmp-12-1f",
  ]

  @Test func killedWriterFileIsRemovedNextWrite() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      for name in [Self.staleName] + Self.similarNames {
        try writeStoreTestFile(directory.file(name), Array("partial".utf8))
      }

      let summary = try FeatureStoreWriter.write(StoreFixtures.randomContent(seed: 43), to: path)
      #expect(summary.removedTemporaryFiles == [directory.file(Self.staleName)])
      #expect(
        try directory.entries()
          == (["store.sqlite", "store.sqlite.lock"] + Self.similarNames).sorted())
      #expect(try FeatureStoreReader.load(path: path).userCount == 40)
    }
  }

  @Test func lockedWriterRemovesNoFile() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      try writeStoreTestFile(directory.file(Self.staleName), Array("partial".utf8))
      let lock = try #require(try FileLock(path: path + ".lock", wait: false))
      defer { lock.release() }

      #expect(throws: StoreError.locked(path: path, lockPath: path + ".lock")) {
        try FeatureStoreWriter.write(StoreFixtures.randomContent(seed: 44), to: path)
      }
      // Another writer holds the lock, so the file may be that writer's own.
      #expect(try directory.entries() == ["store.sqlite.lock", Self.staleName])
    }
  }
}
