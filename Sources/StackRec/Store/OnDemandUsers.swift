import Synchronization

/// The users of a candidate-limited store, read from the file when first
/// needed and kept in a bounded cache.
///
/// One read-only SQLite connection serves every thread, one read at a
/// time; cached users are shared without copying. When the cache exceeds
/// its capacity, the least recently used eighth of it is dropped.
final class OnDemandUsers: @unchecked Sendable {
  /// One decoded user: rated items, candidates and their blended scores.
  final class Entry: Sendable {
    let ratedItems: [Int32]
    let candidates: [Int32]
    /// Unclipped blended score of each candidate.
    let blended: [Float]

    init(ratedItems: [Int32], candidates: [Int32], blended: [Float]) {
      self.ratedItems = ratedItems
      self.candidates = candidates
      self.blended = blended
    }

    /// The position of `item` among the candidates, or nil.
    func position(of item: Int32) -> Int? {
      Entry.search(candidates, item)
    }

    static func search(_ items: [Int32], _ item: Int32) -> Int? {
      var low = 0
      var high = items.count
      while low < high {
        let middle = (low + high) / 2
        if items[middle] < item { low = middle + 1 } else { high = middle }
      }
      return low < items.count && items[low] == item ? low : nil
    }
  }

  private struct Cache {
    var entries: [Int: (entry: Entry, lastUse: UInt64)] = [:]
    var clock: UInt64 = 0
  }

  let path: String
  let capacity: Int
  // `database` and `query` are used only while holding `readLock`.
  private let database: SQLiteDatabase
  private let query: SQLiteStatement
  private let readLock = Mutex(())
  private let cache = Mutex(Cache())

  /// Opens its own read-only connection to the store at `path`.
  init(path: String, capacity: Int) throws {
    self.path = path
    self.capacity = max(capacity, 1)
    database = try SQLiteDatabase(path: path, mode: .readOnly(immutable: true))
    query = try database.prepare("SELECT scores, checksum FROM users WHERE user_index = ?")
  }

  /// The decoded user at `user`, from the cache or the file.
  func entry(user: Int, snapshot: StoreSnapshot) throws -> Entry {
    if let hit = cache.withLock({ cache -> Entry? in
      cache.clock += 1
      guard let found = cache.entries[user] else { return nil }
      cache.entries[user] = (found.entry, cache.clock)
      return found.entry
    }) {
      return hit
    }
    let content = try content(user: user, snapshot: snapshot)
    let entry = Entry(
      ratedItems: content.ratedItems, candidates: content.candidates ?? [],
      blended: snapshot.blendCandidates(content, user: user))
    cache.withLock { cache in
      cache.clock += 1
      cache.entries[user] = (entry, cache.clock)
      if cache.entries.count > capacity {
        let oldest = cache.entries.sorted { $0.value.lastUse < $1.value.lastUse }
          .prefix(max(capacity / 8, 1))
        for (key, _) in oldest { cache.entries.removeValue(forKey: key) }
      }
    }
    return entry
  }

  /// Reads, checks and decodes the user's blob.
  func content(user: Int, snapshot: StoreSnapshot) throws -> UserBlobCodec.Content {
    let (blob, checksum) = try readLock.withLock { _ -> ([UInt8], UInt32) in
      query.reset()
      try query.bind(1, Int64(user))
      guard try query.step() else {
        throw StoreError.corrupt(path: path, reason: "user index \(user) is missing")
      }
      return (query.blob(0), UInt32(truncatingIfNeeded: query.int64(1)))
    }
    return try StoreSnapshot.decodeUser(
      path: path, user: user, blob: blob, checksum: checksum, models: snapshot.models,
      itemCount: snapshot.itemCount, step: snapshot.header.step)
  }
}
