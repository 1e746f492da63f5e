import Testing

@testable import StackRec

@Suite struct UserBlobCodecTests {
  // MARK: - Zigzag

  @Test(
    arguments: [
      (0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4), (32_767, 65_534), (-32_768, 65_535),
      (32_768, 65_536), (Int32.max, 0xFFFF_FFFE), (Int32.min, 0xFFFF_FFFF),
    ] as [(Int32, UInt32)])
  func zigzagMapsEdgeValues(code: Int32, mapped: UInt32) {
    #expect(UserBlobCodec.zigzag(code) == mapped)
    #expect(UserBlobCodec.unzigzag(mapped) == code)
  }

  @Test func zigzagRoundTripsRandomCodes() {
    var generator = SeededGenerator(seed: 11)
    var failures: [Int32] = []
    for _ in 0..<20_000 {
      let code = Int32(truncatingIfNeeded: generator.next())
      if UserBlobCodec.unzigzag(UserBlobCodec.zigzag(code)) != code { failures.append(code) }
    }
    #expect(failures.isEmpty, "codes that did not round trip: \(failures.prefix(5))")
  }

  // MARK: - Layout

  @Test func encodeWritesDocumentedLayout() {
    // Three items, items 1 and 2 rated, one model with codes 0, -1, 2:
    // zigzag gives 0, 1, 4, so the low plane is 0 1 4 and the high plane zeros.
    let bytes = UserBlobCodec.encode(ratedItems: [1, 2], codes: [[0, -1, 2]], itemCount: 3)
    let expected: [UInt8] = [
      1,  // layout version
      1,  // model count
      2,  // code width of model 0
      2, 0, 0, 0,  // rated count, u32 little-endian
      2, 1,  // gaps: 1 - (-1), 2 - 1
      0, 1, 4,  // low bytes
      0, 0, 0,  // high bytes
    ]
    #expect(bytes == expected)
  }

  @Test func ratedItemGapsUseLEB128() {
    // Item 200 is the first rated item, so its gap is 201 = 0b1_1001001:
    // 0x49 with the continuation bit, then 0x01.
    let bytes = UserBlobCodec.encode(
      ratedItems: [200], codes: [[Int32](repeating: 0, count: 300)], itemCount: 300)
    #expect(Array(bytes[3..<7]) == [1, 0, 0, 0])
    #expect(Array(bytes[7..<9]) == [0xC9, 0x01])
    #expect(bytes.count == 9 + 2 * 300)
  }

  @Test(arguments: [
    (Int32(32_767), 2), (-32_768, 2), (32_768, 4), (-32_769, 4), (11_259_375, 4),
    (-11_259_375, 4), (0, 2),
  ])
  func codeWidthFollowsLargestCode(code: Int32, width: Int) throws {
    // A second model with small codes keeps the narrow width, and base 0
    // with step 1 makes every decoded score equal its code.
    let codes: [[Int32]] = [[1, code, -3, 0], [5, -5, 0, 7]]
    let bytes = UserBlobCodec.encode(ratedItems: [3], codes: codes, itemCount: 4)
    #expect(Int(bytes[2]) == width)
    #expect(bytes[3] == 2)
    #expect(bytes.count == 2 + 2 + 4 + 1 + width * 4 + 2 * 4)

    let zeros = [Float](repeating: 0, count: 4)
    let content = try UserBlobCodec.decode(bytes, itemCount: 4, bases: [zeros, zeros], step: 1)
    #expect(content.ratedItems == [3])
    #expect(content.scores[0] == codes[0].map { Float($0) })
    #expect(content.scores[1] == codes[1].map { Float($0) })
  }

  // MARK: - Round trips

  @Test func decodedScoresStayWithinTolerance() throws {
    // Model 0 stays near its base (2-byte codes); model 1 is up to 90 away
    // from it, which needs codes beyond 16 bits.
    let users = 50
    let items = 200
    let step = FeatureStoreWriter.step
    let tolerance = FeatureStoreWriter.tolerance
    var generator = SeededGenerator(seed: 2024)
    func uniform(_ range: ClosedRange<Float>) -> Float {
      range.lowerBound + Float(generator.nextUnit()) * (range.upperBound - range.lowerBound)
    }
    var worst: Float = 0
    var worstPlace = ""
    var widths: Set<UInt8> = []
    for user in 0..<users {
      let bases = (0..<2).map { _ in (0..<items).map { _ in uniform(-2...7) } }
      let scores = [
        bases[0].map { $0 + uniform(-3...3) },
        (0..<items).map { _ in uniform(-90...90) },
      ]
      var codes: [[Int32]] = []
      for model in 0..<2 {
        codes.append(
          try scores[model].withUnsafeBufferPointer { scores in
            try bases[model].withUnsafeBufferPointer { base in
              try UserBlobCodec.quantise(
                scores: scores, base: base, step: step, tolerance: tolerance, model: "m\(model)",
                user: user)
            }
          })
      }
      let bytes = UserBlobCodec.encode(ratedItems: [], codes: codes, itemCount: items)
      widths.formUnion(bytes[2...3])
      let decoded = try UserBlobCodec.decode(bytes, itemCount: items, bases: bases, step: step)
      for model in 0..<2 {
        for item in 0..<items {
          let error = abs(decoded.scores[model][item] - scores[model][item])
          if error > worst {
            worst = error
            worstPlace = "user \(user), model \(model), item \(item)"
          }
        }
      }
    }
    #expect(worst <= tolerance, "largest error \(worst) at \(worstPlace)")
    #expect(widths == [2, 4])
  }

  @Test func ratedItemListsRoundTrip() throws {
    let items = 300
    var generator = SeededGenerator(seed: 5)
    var lists: [[Int32]] = [[], [0], [299], [0, 299], Array(0..<300), [127, 128, 255, 256]]
    for density in [2, 10, 50] {
      lists.append((0..<Int32(items)).filter { _ in generator.nextInt(below: density) == 0 })
    }
    let codes = [[Int32](repeating: 0, count: items)]
    let bases = [[Float](repeating: 1, count: items)]
    for list in lists {
      let bytes = UserBlobCodec.encode(ratedItems: list, codes: codes, itemCount: items)
      let decoded = try UserBlobCodec.decode(bytes, itemCount: items, bases: bases, step: 0.5)
      #expect(decoded.ratedItems == list)
    }
  }

  @Test(arguments: [Float.nan, .infinity, -.infinity, 1e30])
  func quantiseRejectsUnstorableScores(score: Float) {
    let scores: [Float] = [3, score, 4]
    let base: [Float] = [3, 3, 3]
    let error = #expect(throws: StoreError.self) {
      try scores.withUnsafeBufferPointer { scores in
        try base.withUnsafeBufferPointer { base in
          try UserBlobCodec.quantise(
            scores: scores, base: base, step: FeatureStoreWriter.step,
            tolerance: FeatureStoreWriter.tolerance, model: "mf", user: 7)
        }
      }
    }
    guard case .invalidScore(let model, let user, let item, let value) = error else {
      Issue.record("expected invalidScore, got \(String(describing: error))")
      return
    }
    #expect(model == "mf")
    #expect(user == 7)
    #expect(item == 1)
    #expect(value.bitPattern == score.bitPattern)
  }

  // MARK: - Damaged blobs

  /// A valid blob: two models over five items, items 0 and 3 rated.
  private static let validBlob = UserBlobCodec.encode(
    ratedItems: [0, 3], codes: [[0, 1, -1, 40_000, 2], [3, 0, 0, -2, 1]], itemCount: 5)
  private static let bases = [[Float](repeating: 2, count: 5), [Float](repeating: 3, count: 5)]

  private func decodeFailure(_ bytes: [UInt8]) -> String? {
    do {
      _ = try UserBlobCodec.decode(bytes, itemCount: 5, bases: Self.bases, step: 0.01)
      return nil
    } catch {
      guard case .corruptBlob(let reason) = error else { return "unexpected error \(error)" }
      return reason
    }
  }

  @Test func validBlobDecodes() {
    #expect(decodeFailure(Self.validBlob) == nil)
  }

  @Test func truncatedBlobsThrowCorruptBlob() {
    for length in 0..<Self.validBlob.count {
      let reason = decodeFailure(Array(Self.validBlob.prefix(length)))
      #expect(reason != nil, "a prefix of \(length) bytes decoded")
    }
  }

  @Test func trailingBytesThrowCorruptBlob() {
    #expect(decodeFailure(Self.validBlob + [0]) == "unexpected bytes after the scores")
  }

  @Test(arguments: [
    ([UInt8]([3, 2, 2, 2]), "unknown blob layout version"),
    ([1, 3, 2, 2, 2], "model count does not match the store"),
    ([1, 2, 3, 2], "invalid code width"),
    ([1, 2, 2, 2, 6, 0, 0, 0], "invalid rated item count"),
    ([1, 2, 2, 2, 0xFF, 0xFF, 0xFF, 0xFF], "invalid rated item count"),
    ([1, 2, 2, 2, 1, 0, 0, 0, 0], "invalid rated item"),
    ([1, 2, 2, 2, 1, 0, 0, 0, 0x80, 0x80], "invalid rated item"),
    ([1, 2, 2, 2, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "invalid rated item"),
    ([1, 2, 2, 2, 1, 0, 0, 0, 6], "rated item out of range"),
    ([1, 2, 2, 2, 2, 0, 0, 0, 1, 5], "rated item out of range"),
    ([1, 2, 2, 2, 0, 0, 0, 0, 1, 2, 3], "score planes are truncated"),
  ])
  func malformedHeaderNamesReason(bytes: [UInt8], reason: String) {
    #expect(decodeFailure(bytes) == reason)
  }

  @Test func randomGarbageThrowsCorruptBlob() {
    var generator = SeededGenerator(seed: 99)
    var decoded = 0
    for attempt in 0..<2_000 {
      var bytes = (0..<generator.nextInt(below: 80)).map { _ in
        UInt8(truncatingIfNeeded: generator.next())
      }
      // Keep a valid start on most attempts so the parser gets past the
      // first checks.
      if attempt % 4 != 0 {
        bytes = Array(Self.validBlob.prefix(generator.nextInt(below: 9))) + bytes
      }
      if let reason = decodeFailure(bytes) {
        #expect(!reason.hasPrefix("unexpected error"), "\(reason) for \(bytes)")
      } else {
        decoded += 1
      }
    }
    // Only a blob of exactly the right length can decode; random lengths
    // make that rare.
    #expect(decoded < 20)
  }

  @Test func flippedPlaneByteChangesOneScore() throws {
    // The blob has no checksum of its own (the store keeps its CRC-32), so a
    // flipped code byte decodes to a different score for that item only.
    var bytes = Self.validBlob
    let planeStart = 2 + 2 + 4 + 2
    bytes[planeStart + 1] ^= 0x10
    let original = try UserBlobCodec.decode(
      Self.validBlob, itemCount: 5, bases: Self.bases, step: 0.01)
    let changed = try UserBlobCodec.decode(bytes, itemCount: 5, bases: Self.bases, step: 0.01)
    #expect(changed.scores[0][1] != original.scores[0][1])
    #expect(changed.scores[0][0] == original.scores[0][0])
    #expect(changed.scores[1] == original.scores[1])
  }
}
