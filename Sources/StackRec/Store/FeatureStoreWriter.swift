import Glibc
import Synchronization

/// What writing a store produced.
public struct StoreWriteSummary: Sendable {
  public var path: String
  /// The size of the published file.
  public var bytes: Int
  /// The size of every score as a raw `Float` (users x items x models x 4).
  public var rawScoreBytes: Int
  /// The compressed size of the per-user blobs alone.
  public var blobBytes: Int
  public var encodeSeconds: Double
  public var writeSeconds: Double
  /// Temporary files of earlier writers that a signal or a crash stopped,
  /// removed before this write.
  public var removedTemporaryFiles: [String] = []

  /// The file size as a fraction of the raw scores.
  public var ratio: Double { Double(bytes) / Double(max(rawScoreBytes, 1)) }
}

/// Writes a feature store: one SQLite file, published atomically.
///
/// The file is built under a temporary name in the destination directory,
/// flushed with `fsync` and renamed over the destination, so readers see
/// the previous store or the complete new one and never a partial file. A
/// failure at any step removes the temporary file and leaves the previous
/// store untouched. A lock file (`PATH.lock`) keeps two writers apart, and
/// the lock holder removes the temporary files that writers stopped by a
/// signal or a crash left behind.
///
/// Schema (format version 1, `PRAGMA user_version`; `PRAGMA
/// application_id` is `0x53524543`, "SREC"):
///
/// - `metadata(key, value)`: format, creation time, dataset fingerprint,
///   rating scale, quantisation step, serve fit, the meta-model (`meta_*`
///   rows, see `BlendModel`), and one checksum over the metadata and the
///   item table.
/// - `models(position, key, rank, data, checksum)`: blend order; `data` is
///   zlib-compressed `Float`s: the basis user terms, item terms,
///   unknown-user scores, unknown-item scores, and the score for both
///   unknown.
/// - `items(item_index, item_id, support, title)`.
/// - `users(user_index, user_id, support, scores, checksum)`: `scores` is the
///   zlib-compressed `UserBlobCodec` layout; `checksum` its CRC-32 before
///   compression.
public enum FeatureStoreWriter {
  public static let formatVersion = 1
  public static let applicationID: Int32 = 0x5352_4543
  /// The largest allowed difference between a stored and a model's score.
  public static let tolerance: Float = 0.001
  /// The quantisation step: a little under `2 * tolerance`, leaving room for
  /// the decoder's `Float` rounding.
  public static let step: Float = 0.0019

  /// Points where a test can make the writer fail.
  public enum Stage: String, Sendable {
    case afterUsers = "after-users"
    case beforeRename = "before-rename"
  }

  /// Writes `content` to `path`.
  ///
  /// - Parameters:
  ///   - waitForLock: wait for another writer to finish instead of failing.
  ///   - failAt: a test hook that throws at the given stage.
  /// - Throws: `StoreError.locked` when another writer holds the lock,
  ///   `StoreError.invalidScore` or `StoreError.invalidFallback` for a
  ///   non-finite score, `StoreError.invalidBlend` for a meta-model the
  ///   reader would reject, and `SQLiteError` or `OutputError` for I/O
  ///   failures.
  public static func write(
    _ content: FeatureStoreContent, to path: String, compressionLevel: Int32 = 6,
    waitForLock: Bool = false, failAt: Stage? = nil
  ) throws -> StoreWriteSummary {
    let directory = parentDirectory(of: path)
    try createDirectories(directory)
    let lockPath = path + ".lock"
    guard let lock = try FileLock(path: lockPath, wait: waitForLock) else {
      throw StoreError.locked(path: path, lockPath: lockPath)
    }
    defer { lock.release() }
    let removedTemporaryFiles = removeTemporaryFiles(of: path)

    try checkFallbacks(content)
    try checkBlend(content)
    var stopwatch = Stopwatch()
    let encoder: (Range<Int>) throws -> [EncodedUser]
    if let source = content.candidateSource {
      encoder = { users in
        try encodeCandidates(content, source: source, users: users, level: compressionLevel)
      }
    } else {
      let blobs = try encodeUsers(content, level: compressionLevel)
      encoder = { users in Array(blobs[users]) }
    }
    let upfrontEncodeSeconds = stopwatch.seconds
    var blockEncodeSeconds = 0.0
    var blobBytes = 0

    stopwatch = Stopwatch()
    let temporary = temporaryPath(for: path)
    TemporaryFiles.add(temporary)
    defer { TemporaryFiles.remove(temporary) }
    do {
      try writeDatabase(content, to: temporary, level: compressionLevel, failAt: failAt) { users in
        let encoding = Stopwatch()
        let encoded = try encoder(users)
        blockEncodeSeconds += encoding.seconds
        blobBytes += encoded.reduce(0) { $0 + $1.compressed.count }
        return encoded
      }
      try syncFile(temporary)
      if failAt == .beforeRename { throw OutputError.cannotWrite(path: path, reason: "injected failure") }
      guard rename(temporary, path) == 0 else {
        throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
      }
    } catch {
      unlink(temporary)
      throw error
    }
    syncDirectory(directory)

    var status = stat()
    stat(path, &status)
    return StoreWriteSummary(
      path: path, bytes: Int(status.st_size),
      rawScoreBytes: content.userCount * min(content.candidateCount ?? content.itemCount, content.itemCount)
        * content.models.count * 4,
      blobBytes: blobBytes, encodeSeconds: upfrontEncodeSeconds + blockEncodeSeconds,
      writeSeconds: stopwatch.seconds - blockEncodeSeconds,
      removedTemporaryFiles: removedTemporaryFiles)
  }

  struct EncodedUser {
    var compressed: [UInt8] = []
    var checksum: UInt32 = 0
  }

  /// Rejects non-finite fallback scores. Quantisation checks every pair's
  /// score, but fallbacks are stored as raw `Float`s and bypass it.
  static func checkFallbacks(_ content: FeatureStoreContent) throws {
    for model in content.models {
      for (item, value) in model.unknownUserScores.enumerated() where !value.isFinite {
        throw StoreError.invalidFallback(
          model: model.key, fallback: .unknownUser, index: item, value: value)
      }
      for (user, value) in model.unknownItemScores.enumerated() where !value.isFinite {
        throw StoreError.invalidFallback(
          model: model.key, fallback: .unknownItem, index: user, value: value)
      }
      guard model.unknownUserAndItemScore.isFinite else {
        throw StoreError.invalidFallback(
          model: model.key, fallback: .unknownUserAndItem, index: 0,
          value: model.unknownUserAndItemScore)
      }
    }
  }

  /// Rejects a meta-model that `StoreMetadata.parseBlend` would reject, so
  /// that a store the blender cannot load is never published.
  static func checkBlend(_ content: FeatureStoreContent) throws {
    let blend = content.blend
    for (position, feature) in blend.features.enumerated() {
      let name = feature.rawValue
      guard blend.centers[position].isFinite else {
        throw StoreError.invalidBlend(
          term: "center of feature \(name)", value: blend.centers[position])
      }
      let scale = blend.scales[position]
      guard scale.isFinite, scale > 0 else {
        throw StoreError.invalidBlend(term: "scale of feature \(name)", value: scale)
      }
      guard blend.intercepts[position].isFinite else {
        throw StoreError.invalidBlend(
          term: "intercept for feature \(name)", value: blend.intercepts[position])
      }
      for (model, row) in zip(content.models, blend.coefficients) where !row[position].isFinite {
        throw StoreError.invalidBlend(
          term: "weight of model \(model.key) for feature \(name)", value: row[position])
      }
    }
  }

  /// Quantises and compresses every user's blob, in parallel.
  static func encodeUsers(_ content: FeatureStoreContent, level: Int32) throws -> [EncodedUser] {
    let itemCount = content.itemCount
    for model in content.models {
      precondition(
        model.scores.count == content.userCount * itemCount,
        "model \(model.key) has \(model.scores.count) scores, expected users x items")
    }
    var encoded = [EncodedUser](repeating: EncodedUser(), count: content.userCount)
    let firstError = Mutex<(any Error)?>(nil)
    encoded.withUnsafeMutableBufferPointer { output in
      let shared = SharedBuffer(output)
      // Each worker writes only the entries of its own users.
      parallelChunks(content.userCount) { users in
        var base = [Float](repeating: 0, count: itemCount)
        for user in users {
          do {
            var codes: [[Int32]] = []
            for model in content.models {
              base.withUnsafeMutableBufferPointer { model.basis.fillRow(user: user, into: $0) }
              let modelCodes = try model.scores.withUnsafeBufferPointer { scores in
                try base.withUnsafeBufferPointer { base in
                  try UserBlobCodec.quantise(
                    scores: UnsafeBufferPointer(rebasing: scores[user * itemCount..<(user + 1) * itemCount]),
                    base: base, step: step, tolerance: tolerance, model: model.key, user: user)
                }
              }
              codes.append(modelCodes)
            }
            let bytes = UserBlobCodec.encode(
              ratedItems: content.ratedItems[user], codes: codes, itemCount: itemCount)
            shared[user] = EncodedUser(
              compressed: try Zlib.compress(bytes, level: level), checksum: Zlib.crc32(bytes))
          } catch {
            firstError.withLock { if $0 == nil { $0 = error } }
            return
          }
        }
      }
    }
    if let error = firstError.withLock({ $0 }) { throw error }
    return encoded
  }

  /// Quantises and compresses the blobs of `users` of a candidate-limited
  /// store, scoring them through `source`, in parallel.
  static func encodeCandidates(
    _ content: FeatureStoreContent, source: any UserScoreSource, users: Range<Int>, level: Int32
  ) throws -> [EncodedUser] {
    var encoded = [EncodedUser](repeating: EncodedUser(), count: users.count)
    let firstError = Mutex<(any Error)?>(nil)
    let itemCount = content.itemCount
    encoded.withUnsafeMutableBufferPointer { output in
      let shared = SharedBuffer(output)
      // Each worker scores and writes only its own users.
      parallelChunks(users.count, minimumChunk: 16) { chunk in
        do {
          let block = (users.lowerBound + chunk.lowerBound)..<(users.lowerBound + chunk.upperBound)
          let scores = try source.scores(for: block)
          for (offset, entry) in scores.enumerated() {
            let user = block.lowerBound + offset
            var codes: [[Int32]] = []
            for (model, row) in zip(content.models, entry.scores) {
              let base = model.basis.row(user: user, items: entry.candidates)
              codes.append(
                try row.withUnsafeBufferPointer { scores in
                  try base.withUnsafeBufferPointer { base in
                    try UserBlobCodec.quantise(
                      scores: scores, base: base, step: step, tolerance: tolerance,
                      model: model.key, user: user)
                  }
                })
            }
            let bytes = UserBlobCodec.encode(
              ratedItems: entry.ratedItems, candidates: entry.candidates, codes: codes,
              itemCount: itemCount)
            shared[chunk.lowerBound + offset] = EncodedUser(
              compressed: try Zlib.compress(bytes, level: level), checksum: Zlib.crc32(bytes))
          }
        } catch {
          firstError.withLock { if $0 == nil { $0 = error } }
        }
      }
    }
    if let error = firstError.withLock({ $0 }) { throw error }
    return encoded
  }

  private static func writeDatabase(
    _ content: FeatureStoreContent, to path: String, level: Int32, failAt: Stage?,
    encode: (Range<Int>) throws -> [EncodedUser]
  ) throws {
    let database = try SQLiteDatabase(path: path, mode: .createReadWrite)
    try database.execute(
      """
      PRAGMA page_size = 1024;
      PRAGMA journal_mode = OFF;
      PRAGMA synchronous = OFF;
      PRAGMA application_id = \(applicationID);
      PRAGMA user_version = \(formatVersion);
      BEGIN;
      CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE models (
        position INTEGER PRIMARY KEY, key TEXT NOT NULL, rank INTEGER NOT NULL,
        data BLOB NOT NULL, checksum INTEGER NOT NULL);
      CREATE TABLE items (
        item_index INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, support INTEGER NOT NULL,
        title TEXT NOT NULL);
      CREATE TABLE users (
        user_index INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, support INTEGER NOT NULL,
        scores BLOB NOT NULL, checksum INTEGER NOT NULL);
      """)

    let metadata = StoreMetadata.entries(for: content)
    let insertMetadata = try database.prepare("INSERT INTO metadata VALUES (?, ?)")
    for (key, value) in metadata {
      try insertMetadata.bind(1, key)
      try insertMetadata.bind(2, value)
      try insertMetadata.step()
      insertMetadata.reset()
    }

    let insertModel = try database.prepare("INSERT INTO models VALUES (?, ?, ?, ?, ?)")
    for (position, model) in content.models.enumerated() {
      let data = StoreMetadata.modelData(model)
      try insertModel.bind(1, Int64(position))
      try insertModel.bind(2, model.key)
      try insertModel.bind(3, Int64(model.basis.rank))
      try insertModel.bind(4, try Zlib.compress(data, level: level))
      try insertModel.bind(5, Int64(Zlib.crc32(data)))
      try insertModel.step()
      insertModel.reset()
    }

    let insertItem = try database.prepare("INSERT INTO items VALUES (?, ?, ?, ?)")
    for item in 0..<content.itemCount {
      try insertItem.bind(1, Int64(item))
      try insertItem.bind(2, Int64(content.itemIDs[item]))
      try insertItem.bind(3, Int64(content.itemSupport[item]))
      try insertItem.bind(4, content.titles[item])
      try insertItem.step()
      insertItem.reset()
    }

    // Users go in blocks, so a candidate-limited store never holds more
    // than one block of encoded blobs.
    let insertUser = try database.prepare("INSERT INTO users VALUES (?, ?, ?, ?, ?)")
    let blockSize = 4096
    for start in stride(from: 0, to: content.userCount, by: blockSize) {
      let block = start..<min(start + blockSize, content.userCount)
      let blobs = try encode(block)
      for (offset, user) in block.enumerated() {
        try insertUser.bind(1, Int64(user))
        try insertUser.bind(2, Int64(content.userIDs[user]))
        try insertUser.bind(3, Int64(content.userSupport[user]))
        try insertUser.bind(4, blobs[offset].compressed)
        try insertUser.bind(5, Int64(blobs[offset].checksum))
        try insertUser.step()
        insertUser.reset()
      }
    }
    if failAt == .afterUsers {
      throw OutputError.cannotWrite(path: path, reason: "injected failure")
    }
    try database.execute("COMMIT")
  }

  /// Flushes a file's data to disk (`fsync`).
  private static func syncFile(_ path: String) throws {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else {
      throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
  }
}
