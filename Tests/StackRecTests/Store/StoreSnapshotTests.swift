import Testing

@testable import StackRec

/// Round trips of random content through `FeatureStoreWriter` and
/// `FeatureStoreReader`, checked against values computed from the content.
@Suite struct StoreSnapshotTests {
  /// Writes `content` to a fresh directory and runs `body` on the loaded store.
  private func withLoaded(
    _ content: FeatureStoreContent, _ body: (StoreSnapshot, String) throws -> Void
  ) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      _ = try FeatureStoreWriter.write(content, to: path)
      try body(try FeatureStoreReader.load(path: path), path)
    }
  }

  @Test func headerFieldsRoundTrip() throws {
    let content = StoreFixtures.randomContent(seed: 1)
    try withLoaded(content) { snapshot, path throws in
      #expect(snapshot.path == path)
      #expect(snapshot.header.createdAt == content.createdAt)
      #expect(snapshot.header.datasetFingerprint == content.datasetFingerprint)
      #expect(snapshot.header.serveFit == "base")
      #expect(snapshot.header.formatVersion == 1)
      #expect(snapshot.header.ratingScale == 0.5...5)
      #expect(snapshot.header.step == FeatureStoreWriter.step)
      #expect(snapshot.modelKeys == ["exact", "additive", "noisy"])
      #expect(snapshot.blend == content.blend)
    }
  }

  @Test func idsTitlesAndSupportRoundTrip() throws {
    let content = StoreFixtures.randomContent(seed: 2)
    try withLoaded(content) { snapshot, _ throws in
      #expect(snapshot.userCount == 40)
      #expect(snapshot.itemCount == 30)
      #expect(snapshot.users.ids == content.userIDs)
      #expect(snapshot.items.ids == content.itemIDs)
      #expect(snapshot.titles == content.titles)
      #expect(snapshot.userSupport == content.userSupport)
      #expect(snapshot.itemSupport == content.itemSupport)
      for (position, id) in content.userIDs.enumerated() {
        #expect(snapshot.users.index(of: id) == Int32(position))
      }
      let pastLastID = try #require(content.userIDs.last) + 1
      #expect(snapshot.users.index(of: pastLastID) == nil)
    }
  }

  @Test func ratedItemsRoundTrip() throws {
    let content = StoreFixtures.randomContent(seed: 3)
    try withLoaded(content) { snapshot, _ throws in
      for user in 0..<content.userCount {
        #expect(try snapshot.ratedItems(user: user) == content.ratedItems[user])
      }
    }
  }

  @Test func modelScoresWithinTolerance() throws {
    let content = StoreFixtures.randomContent(seed: 4)
    try withLoaded(content) { snapshot, _ throws in
      var worst: Float = 0
      var worstPlace = ""
      for user in 0..<content.userCount {
        for item in 0..<content.itemCount {
          let stored = try snapshot.modelScores(user: user, item: item)
          let written = StoreFixtures.modelScores(content, user: user, item: item)
          for model in 0..<written.count where abs(stored[model] - written[model]) > worst {
            worst = abs(stored[model] - written[model])
            worstPlace = "user \(user), item \(item), model \(content.models[model].key)"
          }
        }
      }
      #expect(worst <= FeatureStoreWriter.tolerance, "largest error \(worst) at \(worstPlace)")
    }
  }

  @Test func exactBasisScoresAreExact() throws {
    // Scores equal to the basis quantise to code 0 and decode to the basis.
    let content = StoreFixtures.randomContent(seed: 5)
    try withLoaded(content) { snapshot, _ throws in
      var mismatches = 0
      for user in 0..<content.userCount {
        for item in 0..<content.itemCount {
          let stored = try snapshot.modelScores(user: user, item: item)[0]
          if stored != content.models[0].scores[user * content.itemCount + item] {
            mismatches += 1
          }
        }
      }
      #expect(mismatches == 0)
    }
  }

  @Test func blendedScoresMatchFormula() throws {
    let content = StoreFixtures.randomContent(seed: 6)
    let tolerance = StoreFixtures.blendTolerance(content)
    try withLoaded(content) { snapshot, _ throws in
      var worst = 0.0
      var worstPlace = ""
      var clippedCount = 0
      for user in 0..<content.userCount {
        for item in 0..<content.itemCount {
          let unclipped = StoreFixtures.blended(
            content, StoreFixtures.modelScores(content, user: user, item: item))
          let expected = StoreFixtures.clipped(content, unclipped)
          if expected != unclipped { clippedCount += 1 }
          let served = try snapshot.score(user: user, item: item).value
          if abs(Double(served) - expected) > worst {
            worst = abs(Double(served) - expected)
            worstPlace = "user \(user), item \(item)"
          }
        }
      }
      #expect(worst <= tolerance, "largest error \(worst) at \(worstPlace)")
      // The fixture reaches past the scale, so clipping is exercised.
      #expect(clippedCount > 0)
    }
  }

  @Test func storedPairFallbackFollowsSupport() throws {
    let content = StoreFixtures.randomContent(seed: 7)
    try withLoaded(content) { snapshot, _ throws in
      var seen: Set<String> = []
      for user in 0..<content.userCount {
        for item in 0..<content.itemCount {
          let expected = Fallback(
            userKnown: content.userSupport[user] > 0, itemKnown: content.itemSupport[item] > 0)
          seen.insert(expected.rawValue)
          #expect(try snapshot.score(user: user, item: item).fallback == expected)
        }
      }
      #expect(seen.count == 4)
    }
  }

  @Test func unknownUserUsesItemFallbacks() throws {
    let content = StoreFixtures.randomContent(seed: 8)
    let tolerance = StoreFixtures.blendTolerance(content)
    try withLoaded(content) { snapshot, _ throws in
      for item in 0..<content.itemCount {
        let scores = content.models.map { $0.unknownUserScores[item] }
        let expected = StoreFixtures.clipped(content, StoreFixtures.blended(content, scores))
        let served = try snapshot.score(user: nil, item: item)
        #expect(abs(Double(served.value) - expected) <= tolerance, "item \(item)")
        #expect(served.fallback == .unknownUser)
        #expect(try snapshot.modelScores(user: nil, item: item) == scores)
      }
    }
  }

  @Test func unknownItemUsesUserFallbacks() throws {
    let content = StoreFixtures.randomContent(seed: 9)
    let tolerance = StoreFixtures.blendTolerance(content)
    try withLoaded(content) { snapshot, _ throws in
      for user in 0..<content.userCount {
        let scores = content.models.map { $0.unknownItemScores[user] }
        let expected = StoreFixtures.clipped(content, StoreFixtures.blended(content, scores))
        let served = try snapshot.score(user: user, item: nil)
        #expect(abs(Double(served.value) - expected) <= tolerance, "user \(user)")
        let fallback: Fallback =
          content.userSupport[user] > 0 ? .unknownItem : .unknownUserAndItem
        #expect(served.fallback == fallback, "user \(user)")
        #expect(try snapshot.modelScores(user: user, item: nil) == scores)
      }
    }
  }

  @Test func unknownUserAndItemUsesConstant() throws {
    let content = StoreFixtures.randomContent(seed: 10)
    try withLoaded(content) { snapshot, _ throws in
      let scores: [Float] = [3.25, 2.75, 3.5]
      let expected = StoreFixtures.clipped(content, StoreFixtures.blended(content, scores))
      let served = try snapshot.score(user: nil, item: nil)
      #expect(abs(Double(served.value) - expected) <= 1e-5)
      #expect(served.fallback == .unknownUserAndItem)
      #expect(try snapshot.modelScores(user: nil, item: nil) == scores)
    }
  }

  @Test func recommendMatchesIndependentRanking() throws {
    // Stored scores may differ from the content's by the tolerance, which
    // can swap near-ties, so the test compares the score at each rank
    // rather than the item order. The exclusions must hold exactly.
    let content = StoreFixtures.randomContent(seed: 12)
    let tolerance = StoreFixtures.blendTolerance(content)
    try withLoaded(content) { snapshot, _ throws in
      for user in 0..<content.userCount {
        let rated = Set(content.ratedItems[user])
        let candidates = (0..<content.itemCount).filter {
          !rated.contains(Int32($0)) && content.itemSupport[$0] > 0
        }
        let expected = candidates.map {
          StoreFixtures.clipped(
            content,
            StoreFixtures.blended(content, StoreFixtures.modelScores(content, user: user, item: $0))
          )
        }.sorted(by: >)
        let served = try snapshot.recommend(user: user, count: 5)
        #expect(served.count == min(5, candidates.count))
        for (rank, entry) in served.enumerated() {
          #expect(candidates.contains(entry.item), "user \(user) got item \(entry.item)")
          #expect(abs(Double(entry.score) - expected[rank]) <= 2 * tolerance)
        }
      }
    }
  }
}
