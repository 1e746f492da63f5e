import Synchronization

/// A loaded, validated feature store: immutable, shared by every
/// connection without locks, and replaced as a whole on reload.
///
/// Loading decodes every user's blob once, checks its CRC-32, and keeps
/// each user's blended scores and rated items, so a SCORE request is an
/// array lookup. Scores are kept unclipped so that RECOMMEND can rank items
/// that clipping would tie at the top of the scale; replies are clipped. The compressed blobs stay
/// in memory for EXPLAIN, which decodes one user's per-model scores on
/// demand.
public final class StoreSnapshot: Sendable {
  public struct Header: Sendable {
    public var createdAt: String
    public var datasetFingerprint: String
    public var serveFit: String
    public var formatVersion: Int
    public var ratingScale: ClosedRange<Float>
    public var step: Float
  }

  public let path: String
  public let header: Header
  public let users: IDIndex
  public let items: IDIndex
  public let titles: [String]
  public let userSupport: [Int32]
  public let itemSupport: [Int32]
  public let modelKeys: [String]
  public let blend: BlendModel
  /// Seconds spent loading and validating.
  public let loadSeconds: Double

  private let models: [StoreMetadata.ModelData]
  private let blobs: [[UInt8]]
  private let checksums: [UInt32]
  /// Unclipped blended scores, one row of `itemCount` per user.
  private let blended: [Float]
  private let ratedOffsets: [Int]
  private let ratedItems: [Int32]
  /// Unclipped blended fallbacks: per item for an unknown user, per user
  /// for an unknown item, and for both unknown.
  private let unknownUserBlended: [Float]
  private let unknownItemBlended: [Float]
  private let unknownBothBlended: Float

  init(
    path: String, header: Header, users: IDIndex, items: IDIndex, titles: [String],
    userSupport: [Int32], itemSupport: [Int32], modelKeys: [String], blend: BlendModel,
    models: [StoreMetadata.ModelData], blobs: [[UInt8]], checksums: [UInt32],
    stopwatch: Stopwatch
  ) throws {
    self.path = path
    self.header = header
    self.users = users
    self.items = items
    self.titles = titles
    self.userSupport = userSupport
    self.itemSupport = itemSupport
    self.modelKeys = modelKeys
    self.blend = blend
    self.models = models
    self.blobs = blobs
    self.checksums = checksums

    let userCount = users.count
    let itemCount = items.count

    // Decode every user in parallel; each worker fills its own users' rows.
    var blended = [Float](repeating: 0, count: userCount * itemCount)
    var rated = [[Int32]](repeating: [], count: userCount)
    let firstError = Mutex<(any Error)?>(nil)
    let decode = StoreSnapshot.decodeUser
    let prepared = blend.prepared(itemSupport: itemSupport)
    blended.withUnsafeMutableBufferPointer { blendedBuffer in
      rated.withUnsafeMutableBufferPointer { ratedBuffer in
        let sharedBlended = SharedBuffer(blendedBuffer)
        let sharedRated = SharedBuffer(ratedBuffer)
        parallelChunks(userCount) { chunk in
          var row = [Double](repeating: 0, count: itemCount)
          for user in chunk {
            do {
              let content = try decode(
                path, user, blobs[user], checksums[user], models, itemCount, header.step)
              sharedRated[user] = content.ratedItems
              prepared.blendRow(content.scores, userSupport: userSupport[user], into: &row)
              for item in 0..<itemCount {
                sharedBlended[user * itemCount + item] = Float(row[item])
              }
            } catch {
              firstError.withLock { if $0 == nil { $0 = error } }
              return
            }
          }
        }
      }
    }
    if let error = firstError.withLock({ $0 }) { throw error }
    self.blended = blended

    var offsets = [0]
    offsets.reserveCapacity(userCount + 1)
    for list in rated { offsets.append(offsets.last! + list.count) }
    ratedOffsets = offsets
    ratedItems = rated.flatMap { $0 }

    // Fallbacks: an unknown user or item has no training ratings.
    var row: [Double] = []
    prepared.blendRow(models.map(\.unknownUserScores), userSupport: 0, into: &row)
    unknownUserBlended = row.map { Float($0) }
    unknownItemBlended = (0..<userCount).map { user in
      Float(
        blend.blend(
          models.map { $0.unknownItemScores[user] }, userSupport: userSupport[user],
          itemSupport: 0))
    }
    unknownBothBlended = Float(blend.blend(models.map(\.unknownUserAndItemScore)))
    loadSeconds = stopwatch.seconds
  }

  /// Decompresses, checks and decodes one user's blob.
  private static func decodeUser(
    path: String, user: Int, blob: [UInt8], checksum: UInt32,
    models: [StoreMetadata.ModelData], itemCount: Int, step: Float
  ) throws -> UserBlobCodec.Content {
    let maxSize = 6 + models.count + 5 * itemCount + 4 * models.count * itemCount
    guard let bytes = try? Zlib.decompress(blob, maxSize: maxSize) else {
      throw StoreError.corrupt(path: path, reason: "the blob of user index \(user) does not decompress")
    }
    guard Zlib.crc32(bytes) == checksum else {
      throw StoreError.checksumMismatch(path: path, part: "the blob of user index \(user)")
    }
    var bases: [[Float]] = []
    for model in models {
      var base = [Float](repeating: 0, count: itemCount)
      base.withUnsafeMutableBufferPointer { model.basis.fillRow(user: user, into: $0) }
      bases.append(base)
    }
    do {
      return try UserBlobCodec.decode(bytes, itemCount: itemCount, bases: bases, step: step)
    } catch {
      throw StoreError.corrupt(path: path, reason: "user index \(user): \(error)")
    }
  }

  // MARK: - Queries

  public var userCount: Int { users.count }
  public var itemCount: Int { items.count }

  /// True when the served models have ratings for the user at `index`.
  @inline(__always)
  public func isModelled(user index: Int) -> Bool { userSupport[index] > 0 }

  /// True when the served models have ratings for the item at `index`.
  @inline(__always)
  public func isModelled(item index: Int) -> Bool { itemSupport[index] > 0 }

  /// The clipped blended score and whether it is a fallback, for indices
  /// into `users` and `items`, where nil means the id is not in the store.
  @inline(__always)
  public func score(user: Int?, item: Int?) -> (value: Float, fallback: Fallback) {
    let (value, fallback) = unclippedScore(user: user, item: item)
    return (clip(value), fallback)
  }

  @inline(__always)
  private func clip(_ value: Float) -> Float {
    min(max(value, header.ratingScale.lowerBound), header.ratingScale.upperBound)
  }

  @inline(__always)
  private func unclippedScore(user: Int?, item: Int?) -> (value: Float, fallback: Fallback) {
    switch (user, item) {
    case let (user?, item?):
      let fallback = Fallback(userKnown: isModelled(user: user), itemKnown: isModelled(item: item))
      return (blended[user * itemCount + item], fallback)
    case let (nil, item?):
      return (unknownUserBlended[item], .unknownUser)
    case let (user?, nil):
      return (unknownItemBlended[user], Fallback(userKnown: isModelled(user: user), itemKnown: false))
    case (nil, nil):
      return (unknownBothBlended, .unknownUserAndItem)
    }
  }

  /// The items the user at `index` has rated, ascending.
  public func ratedItems(user index: Int) -> ArraySlice<Int32> {
    ratedItems[ratedOffsets[index]..<ratedOffsets[index + 1]]
  }

  /// The `count` best items for a user by blended score, excluding items
  /// the user has rated and items the models have no ratings for. Items are
  /// ranked by the unclipped score, ties going to the lower item id, and
  /// returned with the clipped score.
  ///
  /// - Parameter user: an index into `users`, or nil for an unknown user.
  public func recommend(user: Int?, count: Int) -> [(item: Int, score: Float)] {
    guard count > 0 else { return [] }
    var best = TopK(capacity: count)
    let rated = user.map { ratedItems(user: $0) } ?? []
    var nextRated = rated.startIndex
    let scores: ArraySlice<Float> =
      user.map { blended[$0 * itemCount..<($0 + 1) * itemCount] } ?? unknownUserBlended[...]
    scores.withUnsafeBufferPointer { row in
      itemSupport.withUnsafeBufferPointer { support in
        for item in 0..<itemCount {
          if nextRated < rated.endIndex && Int(rated[nextRated]) == item {
            nextRated += 1
            continue
          }
          if support[item] > 0 { best.insert(item: item, score: row[item]) }
        }
      }
    }
    return best.sorted().map { ($0.item, clip($0.score)) }
  }

  /// The training support of a pair, as the blend's features see it: 0 for
  /// an id that is not stored.
  public func support(user: Int?, item: Int?) -> (user: Int32, item: Int32) {
    (user.map { userSupport[$0] } ?? 0, item.map { itemSupport[$0] } ?? 0)
  }

  /// Each model's unclipped score for one pair, decoded from the user's
  /// blob (or the models' fallbacks when the user or item is not stored).
  public func modelScores(user: Int?, item: Int?) throws -> [Float] {
    switch (user, item) {
    case let (user?, item?):
      let content = try StoreSnapshot.decodeUser(
        path: path, user: user, blob: blobs[user], checksum: checksums[user], models: models,
        itemCount: itemCount, step: header.step)
      return content.scores.map { $0[item] }
    case let (nil, item?):
      return models.map { $0.unknownUserScores[item] }
    case let (user?, nil):
      return models.map { $0.unknownItemScores[user] }
    case (nil, nil):
      return models.map(\.unknownUserAndItemScore)
    }
  }
}

/// The `capacity` largest scores seen, kept in a min-heap.
struct TopK {
  private var heap: [(item: Int, score: Float)] = []
  let capacity: Int

  init(capacity: Int) {
    self.capacity = capacity
    heap.reserveCapacity(capacity)
  }

  /// True when `a` ranks below `b`: a lower score, or an equal score and a
  /// higher item index.
  @inline(__always)
  private static func ranksBelow(_ a: (item: Int, score: Float), _ b: (item: Int, score: Float))
    -> Bool
  {
    a.score < b.score || (a.score == b.score && a.item > b.item)
  }

  @inline(__always)
  mutating func insert(item: Int, score: Float) {
    if heap.count < capacity {
      heap.append((item, score))
      siftUp(heap.count - 1)
    } else if TopK.ranksBelow(heap[0], (item, score)) {
      heap[0] = (item, score)
      siftDown(0)
    }
  }

  /// The kept entries, best first.
  func sorted() -> [(item: Int, score: Float)] {
    heap.sorted { TopK.ranksBelow($1, $0) }
  }

  private mutating func siftUp(_ start: Int) {
    var child = start
    while child > 0 {
      let parent = (child - 1) / 2
      guard TopK.ranksBelow(heap[child], heap[parent]) else { return }
      heap.swapAt(child, parent)
      child = parent
    }
  }

  private mutating func siftDown(_ start: Int) {
    var parent = start
    while true {
      let left = 2 * parent + 1
      let right = left + 1
      var smallest = parent
      if left < heap.count && TopK.ranksBelow(heap[left], heap[smallest]) { smallest = left }
      if right < heap.count && TopK.ranksBelow(heap[right], heap[smallest]) { smallest = right }
      if smallest == parent { return }
      heap.swapAt(parent, smallest)
      parent = smallest
    }
  }
}
