import Synchronization

/// A loaded, validated feature store: immutable, shared by every
/// connection without locks, and replaced as a whole on reload.
///
/// A store with every (user, item) score is decoded whole at load time:
/// every blob is decompressed and checked once, and each user's blended
/// scores and rated items stay in memory, so a SCORE request is an array
/// lookup; the compressed blobs stay too, for EXPLAIN. A candidate-limited
/// store (written with `--candidates`) may be far larger, so its users are
/// read from the file on first use, checked, and kept in a bounded cache.
///
/// Scores are kept unclipped so that RECOMMEND can rank items that clipping
/// would tie at the top of the scale; replies are clipped.
public final class StoreSnapshot: Sendable {
  public struct Header: Sendable {
    public var createdAt: String
    public var datasetFingerprint: String
    public var serveFit: String
    public var formatVersion: Int
    public var ratingScale: ClosedRange<Float>
    public var step: Float
    /// The candidates per user of a candidate-limited store, or nil.
    public var candidateCount: Int?
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

  let models: [StoreMetadata.ModelData]
  private let prepared: PreparedBlend
  private let storage: Storage
  /// Unclipped blended fallbacks: per item for an unknown user, per user
  /// for an unknown item, and for both unknown.
  private let unknownUserBlended: [Float]
  private let unknownItemBlended: [Float]
  private let unknownBothBlended: Float

  private enum Storage: Sendable {
    case dense(DenseUsers)
    case onDemand(OnDemandUsers)
  }

  /// Every user decoded at load time.
  private struct DenseUsers: Sendable {
    /// Unclipped blended scores, one row of `itemCount` per user.
    var blended: [Float]
    var ratedOffsets: [Int]
    var ratedItems: [Int32]
    var blobs: [[UInt8]]
    var checksums: [UInt32]
  }

  /// Creates a snapshot that decodes every user now.
  convenience init(
    path: String, header: Header, users: IDIndex, items: IDIndex, titles: [String],
    userSupport: [Int32], itemSupport: [Int32], modelKeys: [String], blend: BlendModel,
    models: [StoreMetadata.ModelData], blobs: [[UInt8]], checksums: [UInt32],
    stopwatch: Stopwatch
  ) throws {
    let prepared = blend.prepared(itemSupport: itemSupport)
    let itemCount = items.count
    let userCount = users.count

    // Decode every user in parallel; each worker fills its own users' rows.
    var blended = [Float](repeating: 0, count: userCount * itemCount)
    var rated = [[Int32]](repeating: [], count: userCount)
    let firstError = Mutex<(any Error)?>(nil)
    blended.withUnsafeMutableBufferPointer { blendedBuffer in
      rated.withUnsafeMutableBufferPointer { ratedBuffer in
        let sharedBlended = SharedBuffer(blendedBuffer)
        let sharedRated = SharedBuffer(ratedBuffer)
        parallelChunks(userCount) { chunk in
          var row = [Double](repeating: 0, count: itemCount)
          for user in chunk {
            do {
              let content = try StoreSnapshot.decodeUser(
                path: path, user: user, blob: blobs[user], checksum: checksums[user],
                models: models, itemCount: itemCount, step: header.step)
              guard content.candidates == nil else {
                throw StoreError.corrupt(
                  path: path, reason: "user index \(user) has candidates in a dense store")
              }
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

    var offsets = [0]
    offsets.reserveCapacity(userCount + 1)
    for list in rated { offsets.append(offsets.last! + list.count) }
    let storage = Storage.dense(
      DenseUsers(
        blended: blended, ratedOffsets: offsets, ratedItems: rated.flatMap { $0 }, blobs: blobs,
        checksums: checksums))
    self.init(
      path: path, header: header, users: users, items: items, titles: titles,
      userSupport: userSupport, itemSupport: itemSupport, modelKeys: modelKeys, blend: blend,
      models: models, prepared: prepared, storage: storage, stopwatch: stopwatch)
  }

  /// Creates a snapshot of a candidate-limited store whose users are read
  /// through `reader` on demand.
  convenience init(
    path: String, header: Header, users: IDIndex, items: IDIndex, titles: [String],
    userSupport: [Int32], itemSupport: [Int32], modelKeys: [String], blend: BlendModel,
    models: [StoreMetadata.ModelData], reader: OnDemandUsers, stopwatch: Stopwatch
  ) {
    self.init(
      path: path, header: header, users: users, items: items, titles: titles,
      userSupport: userSupport, itemSupport: itemSupport, modelKeys: modelKeys, blend: blend,
      models: models, prepared: blend.prepared(itemSupport: itemSupport),
      storage: .onDemand(reader), stopwatch: stopwatch)
  }

  private init(
    path: String, header: Header, users: IDIndex, items: IDIndex, titles: [String],
    userSupport: [Int32], itemSupport: [Int32], modelKeys: [String], blend: BlendModel,
    models: [StoreMetadata.ModelData], prepared: PreparedBlend, storage: Storage,
    stopwatch: Stopwatch
  ) {
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
    self.prepared = prepared
    self.storage = storage

    // Fallbacks: an unknown user or item has no training ratings.
    var row: [Double] = []
    prepared.blendRow(models.map(\.unknownUserScores), userSupport: 0, into: &row)
    unknownUserBlended = row.map { Float($0) }
    unknownItemBlended = (0..<users.count).map { user in
      Float(
        blend.blend(
          models.map { $0.unknownItemScores[user] }, userSupport: userSupport[user],
          itemSupport: 0))
    }
    unknownBothBlended = Float(blend.blend(models.map(\.unknownUserAndItemScore)))
    loadSeconds = stopwatch.seconds
  }

  /// Decompresses, checks and decodes one user's blob.
  static func decodeUser(
    path: String, user: Int, blob: [UInt8], checksum: UInt32,
    models: [StoreMetadata.ModelData], itemCount: Int, step: Float
  ) throws -> UserBlobCodec.Content {
    let maxSize = 10 + models.count + 10 * itemCount + 4 * models.count * itemCount
    guard let bytes = try? Zlib.decompress(blob, maxSize: maxSize) else {
      throw StoreError.corrupt(path: path, reason: "the blob of user index \(user) does not decompress")
    }
    guard Zlib.crc32(bytes) == checksum else {
      throw StoreError.checksumMismatch(path: path, part: "the blob of user index \(user)")
    }
    do {
      return try UserBlobCodec.decode(
        bytes, itemCount: itemCount, modelCount: models.count, step: step
      ) { model, candidates in
        guard let candidates else {
          var base = [Float](repeating: 0, count: itemCount)
          base.withUnsafeMutableBufferPointer { models[model].basis.fillRow(user: user, into: $0) }
          return base
        }
        return models[model].basis.row(user: user, items: candidates)
      }
    } catch {
      throw StoreError.corrupt(path: path, reason: "user index \(user): \(error)")
    }
  }

  // MARK: - Queries

  public var userCount: Int { users.count }
  public var itemCount: Int { items.count }

  /// True when the store holds every (user, item) score; false for a
  /// candidate-limited store.
  public var isDense: Bool {
    if case .dense = storage { return true }
    return false
  }

  /// True when the served models have ratings for the user at `index`.
  @inline(__always)
  public func isModelled(user index: Int) -> Bool { userSupport[index] > 0 }

  /// True when the served models have ratings for the item at `index`.
  @inline(__always)
  public func isModelled(item index: Int) -> Bool { itemSupport[index] > 0 }

  /// The clipped blended score and whether it is a fallback, for indices
  /// into `users` and `items`, where nil means the id is not in the store.
  ///
  /// - Throws: `StoreError` when a candidate-limited store's user blob
  ///   cannot be read or fails its checksum.
  @inline(__always)
  public func score(user: Int?, item: Int?) throws -> (value: Float, fallback: Fallback) {
    let (value, fallback) = try unclippedScore(user: user, item: item)
    return (clip(value), fallback)
  }

  @inline(__always)
  private func clip(_ value: Float) -> Float {
    min(max(value, header.ratingScale.lowerBound), header.ratingScale.upperBound)
  }

  @inline(__always)
  private func unclippedScore(user: Int?, item: Int?) throws -> (value: Float, fallback: Fallback) {
    switch (user, item) {
    case let (user?, item?):
      let fallback = Fallback(userKnown: isModelled(user: user), itemKnown: isModelled(item: item))
      switch storage {
      case .dense(let dense):
        return (dense.blended[user * itemCount + item], fallback)
      case .onDemand(let reader):
        let entry = try reader.entry(user: user, snapshot: self)
        if let position = entry.position(of: Int32(item)) {
          return (entry.blended[position], fallback)
        }
        return (basisBlend(user: user, item: item), fallback == .none ? .notCandidate : fallback)
      }
    case let (nil, item?):
      return (unknownUserBlended[item], .unknownUser)
    case let (user?, nil):
      return (unknownItemBlended[user], Fallback(userKnown: isModelled(user: user), itemKnown: false))
    case (nil, nil):
      return (unknownBothBlended, .unknownUserAndItem)
    }
  }

  /// The blend of the models' basis values: each model's low-rank estimate,
  /// which is exact for the bias and factorisation models. Used for a pair
  /// outside a user's candidates.
  private func basisBlend(user: Int, item: Int) -> Float {
    let scores = models.map { $0.basis.value(user: user, item: item) }
    return Float(blend.blend(scores, userSupport: userSupport[user], itemSupport: itemSupport[item]))
  }

  /// The items the user at `index` has rated, ascending.
  public func ratedItems(user index: Int) throws -> [Int32] {
    switch storage {
    case .dense(let dense):
      return Array(dense.ratedItems[dense.ratedOffsets[index]..<dense.ratedOffsets[index + 1]])
    case .onDemand(let reader):
      return try reader.entry(user: index, snapshot: self).ratedItems
    }
  }

  /// The `count` best items for a user by blended score, excluding items
  /// the user has rated and items the models have no ratings for. Items are
  /// ranked by the unclipped score, ties going to the lower item id, and
  /// returned with the clipped score. A candidate-limited store ranks the
  /// user's candidates only.
  ///
  /// - Parameter user: an index into `users`, or nil for an unknown user.
  public func recommend(user: Int?, count: Int) throws -> [(item: Int, score: Float)] {
    guard count > 0 else { return [] }
    var best = TopK(capacity: count)
    if case .onDemand(let reader) = storage, let user {
      let entry = try reader.entry(user: user, snapshot: self)
      var nextRated = 0
      for (position, item) in entry.candidates.enumerated() {
        while nextRated < entry.ratedItems.count && entry.ratedItems[nextRated] < item {
          nextRated += 1
        }
        if nextRated < entry.ratedItems.count && entry.ratedItems[nextRated] == item { continue }
        if itemSupport[Int(item)] > 0 { best.insert(item: Int(item), score: entry.blended[position]) }
      }
      return best.sorted().map { ($0.item, clip($0.score)) }
    }

    let rated = try user.map { try ratedItems(user: $0) } ?? []
    var nextRated = 0
    let scores: ArraySlice<Float>
    if let user, case .dense(let dense) = storage {
      scores = dense.blended[user * itemCount..<(user + 1) * itemCount]
    } else {
      scores = unknownUserBlended[...]
    }
    scores.withUnsafeBufferPointer { row in
      itemSupport.withUnsafeBufferPointer { support in
        for item in 0..<itemCount {
          if nextRated < rated.count && Int(rated[nextRated]) == item {
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
  /// blob (or the models' fallbacks when the user or item is not stored,
  /// or their basis values for a pair outside a user's candidates).
  public func modelScores(user: Int?, item: Int?) throws -> [Float] {
    switch (user, item) {
    case let (user?, item?):
      switch storage {
      case .dense(let dense):
        let content = try StoreSnapshot.decodeUser(
          path: path, user: user, blob: dense.blobs[user], checksum: dense.checksums[user],
          models: models, itemCount: itemCount, step: header.step)
        return content.scores.map { $0[item] }
      case .onDemand(let reader):
        let content = try reader.content(user: user, snapshot: self)
        if let candidates = content.candidates,
          let position = OnDemandUsers.Entry.search(candidates, Int32(item))
        {
          return content.scores.map { $0[position] }
        }
        return models.map { $0.basis.value(user: user, item: item) }
      }
    case let (nil, item?):
      return models.map { $0.unknownUserScores[item] }
    case let (user?, nil):
      return models.map { $0.unknownItemScores[user] }
    case (nil, nil):
      return models.map(\.unknownUserAndItemScore)
    }
  }

  /// Blends one decoded candidate user, for the on-demand reader.
  func blendCandidates(_ content: UserBlobCodec.Content, user: Int) -> [Float] {
    let candidates = content.candidates ?? []
    return candidates.indices.map { position in
      let item = Int(candidates[position])
      let scores = content.scores.map { $0[position] }
      return Float(blend.blend(scores, userSupport: userSupport[user], itemSupport: itemSupport[item]))
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

  /// The kept items, in no particular order.
  func unorderedItems() -> [Int] {
    heap.map(\.item)
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
