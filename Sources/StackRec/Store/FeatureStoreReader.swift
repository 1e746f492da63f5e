import Glibc
import Synchronization

/// Reads and validates a feature store written by `FeatureStoreWriter`.
///
/// The file is opened read-only (and as immutable, since a store is only
/// ever replaced by rename, never modified in place). Every table is read
/// and checked: the application id and format version, the metadata and
/// item checksum, each model's data checksum, and each user blob's CRC-32
/// after decompression. Any failure raises a `StoreError` that names the
/// file and what is wrong.
public enum FeatureStoreReader {
  /// Loads the store at `path` into a snapshot ready for serving.
  ///
  /// - Parameter cacheCapacity: how many users of a candidate-limited store
  ///   stay decoded in memory.
  public static func load(path: String, cacheCapacity: Int = 50_000) throws -> StoreSnapshot {
    let stopwatch = Stopwatch()
    guard fileExists(path) else { throw StoreError.notFound(path: path) }
    // SQLite reports only a disk I/O error for a directory.
    guard !directoryExists(path) else {
      throw StoreError.foreignFile(path: path, reason: "it is a directory")
    }
    let database: SQLiteDatabase
    do {
      database = try SQLiteDatabase(path: path, mode: .readOnly(immutable: true))
      try database.execute("PRAGMA query_only = 1")
      return try read(database, path: path, cacheCapacity: cacheCapacity, stopwatch: stopwatch)
    } catch let error as SQLiteError {
      throw classify(error, path: path)
    }
  }

  /// Maps SQLite's codes for damaged or foreign files to store errors.
  private static func classify(_ error: SQLiteError, path: String) -> Error {
    switch error.code {
    case 26:  // SQLITE_NOTADB
      return StoreError.foreignFile(path: path, reason: "the file is not an SQLite database")
    case 11:  // SQLITE_CORRUPT
      return StoreError.corrupt(path: path, reason: "SQLite reports: \(error.message)")
    default:
      return error
    }
  }

  private static func read(
    _ database: SQLiteDatabase, path: String, cacheCapacity: Int, stopwatch: Stopwatch
  ) throws
    -> StoreSnapshot
  {
    guard try database.integerPragma("application_id") == Int64(FeatureStoreWriter.applicationID)
    else {
      throw StoreError.foreignFile(path: path, reason: "its application id is not stackrec's")
    }
    let version = Int(try database.integerPragma("user_version"))
    guard version == FeatureStoreWriter.formatVersion else {
      throw StoreError.unsupportedVersion(
        path: path, found: version, supported: FeatureStoreWriter.formatVersion)
    }

    // Metadata.
    var metadata: [String: String] = [:]
    var metadataRows: [(String, String)] = []
    let metadataQuery = try database.prepare("SELECT key, value FROM metadata")
    while try metadataQuery.step() {
      let row = (metadataQuery.string(0), metadataQuery.string(1))
      metadata[row.0] = row.1
      metadataRows.append(row)
    }
    func required(_ key: String) throws -> String {
      guard let value = metadata[key] else {
        throw StoreError.corrupt(path: path, reason: "metadata key '\(key)' is missing")
      }
      return value
    }
    func requiredNumber<T: LosslessStringConvertible>(_ key: String, as type: T.Type) throws -> T {
      guard let value = T(try required(key)) else {
        throw StoreError.corrupt(path: path, reason: "metadata key '\(key)' is not a number")
      }
      return value
    }
    guard try required("format") == StoreMetadata.format else {
      throw StoreError.foreignFile(path: path, reason: "its format is '\(metadata["format"]!)'")
    }
    let userCount = try requiredNumber("user_count", as: Int.self)
    let itemCount = try requiredNumber("item_count", as: Int.self)
    let modelCount = try requiredNumber("model_count", as: Int.self)
    let step = try requiredNumber("quantisation_step", as: Float.self)
    let ratingMin = try requiredNumber("rating_min", as: Float.self)
    let ratingMax = try requiredNumber("rating_max", as: Float.self)
    let storedChecksum = try requiredNumber("metadata_checksum", as: UInt32.self)
    guard userCount >= 0, itemCount >= 0, modelCount >= 1, modelCount <= 255, step > 0,
      ratingMin < ratingMax
    else {
      throw StoreError.corrupt(path: path, reason: "metadata values are out of range")
    }

    // Items.
    var itemIDs: [Int32] = []
    var itemSupport: [Int32] = []
    var titles: [String] = []
    itemIDs.reserveCapacity(itemCount)
    let itemQuery = try database.prepare(
      "SELECT item_index, item_id, support, title FROM items ORDER BY item_index")
    while try itemQuery.step() {
      guard itemQuery.int64(0) == Int64(itemIDs.count) else {
        throw StoreError.corrupt(path: path, reason: "item rows are not numbered 0..<\(itemCount)")
      }
      itemIDs.append(Int32(truncatingIfNeeded: itemQuery.int64(1)))
      itemSupport.append(Int32(truncatingIfNeeded: itemQuery.int64(2)))
      titles.append(itemQuery.string(3))
    }
    guard itemIDs.count == itemCount else {
      throw StoreError.corrupt(
        path: path, reason: "expected \(itemCount) items, found \(itemIDs.count)")
    }
    let checksum = StoreMetadata.checksum(
      metadata: metadataRows, itemIDs: itemIDs, itemSupport: itemSupport, titles: titles)
    guard checksum == storedChecksum else {
      throw StoreError.checksumMismatch(path: path, part: "the metadata or item table")
    }

    // Models.
    var keys: [String] = []
    var models: [StoreMetadata.ModelData] = []
    let modelQuery = try database.prepare(
      "SELECT position, key, rank, data, checksum FROM models ORDER BY position")
    while try modelQuery.step() {
      let key = modelQuery.string(1)
      guard modelQuery.int64(0) == Int64(keys.count) else {
        throw StoreError.corrupt(path: path, reason: "model rows are not numbered 0..<\(modelCount)")
      }
      let rank = Int(modelQuery.int64(2))
      let expectedSize = (userCount * rank + itemCount * rank + itemCount + userCount + 1) * 4
      guard rank >= 1, rank <= 4096,
        let data = try? Zlib.decompress(modelQuery.blob(3), expectedSize: expectedSize)
      else {
        throw StoreError.corrupt(path: path, reason: "the data of model '\(key)' does not decompress")
      }
      guard Int64(Zlib.crc32(data)) == modelQuery.int64(4) else {
        throw StoreError.checksumMismatch(path: path, part: "model '\(key)'")
      }
      guard
        let parsed = StoreMetadata.parseModelData(
          data, rank: rank, userCount: userCount, itemCount: itemCount)
      else {
        throw StoreError.corrupt(path: path, reason: "the data of model '\(key)' has the wrong size")
      }
      keys.append(key)
      models.append(parsed)
    }
    guard keys.count == modelCount else {
      throw StoreError.corrupt(path: path, reason: "expected \(modelCount) models, found \(keys.count)")
    }
    guard let blend = StoreMetadata.parseBlend(metadata, modelCount: modelCount) else {
      throw StoreError.corrupt(path: path, reason: "the meta-model rows are missing or malformed")
    }

    // Users.
    var userIDs: [Int32] = []
    var userSupport: [Int32] = []
    var blobs: [[UInt8]] = []
    var checksums: [UInt32] = []
    userIDs.reserveCapacity(userCount)
    // A candidate-limited store reads its blobs later, on demand.
    let layout = metadata["layout"] ?? "dense"
    guard layout == "dense" || layout == "candidates" else {
      throw StoreError.corrupt(path: path, reason: "unknown layout '\(layout)'")
    }
    let onDemand = layout == "candidates"
    let userQuery = try database.prepare(
      onDemand
        ? "SELECT user_index, user_id, support FROM users ORDER BY user_index"
        : "SELECT user_index, user_id, support, scores, checksum FROM users ORDER BY user_index")
    while try userQuery.step() {
      guard userQuery.int64(0) == Int64(userIDs.count) else {
        throw StoreError.corrupt(path: path, reason: "user rows are not numbered 0..<\(userCount)")
      }
      userIDs.append(Int32(truncatingIfNeeded: userQuery.int64(1)))
      userSupport.append(Int32(truncatingIfNeeded: userQuery.int64(2)))
      if !onDemand {
        blobs.append(userQuery.blob(3))
        checksums.append(UInt32(truncatingIfNeeded: userQuery.int64(4)))
      }
    }
    guard userIDs.count == userCount else {
      throw StoreError.corrupt(
        path: path, reason: "expected \(userCount) users, found \(userIDs.count)")
    }

    let users = IDIndex(sortedUniqueIDs: userIDs)
    let items = IDIndex(sortedUniqueIDs: itemIDs)
    guard users.count == userCount, zip(userIDs, userIDs.dropFirst()).allSatisfy({ $0 < $1 }),
      zip(itemIDs, itemIDs.dropFirst()).allSatisfy({ $0 < $1 })
    else {
      throw StoreError.corrupt(path: path, reason: "user or item ids are not ascending")
    }

    let header = StoreSnapshot.Header(
      createdAt: metadata["created_at"] ?? "",
      datasetFingerprint: metadata["dataset_fingerprint"] ?? "",
      serveFit: metadata["serve_fit"] ?? "", formatVersion: version,
      ratingScale: ratingMin...ratingMax, step: step,
      candidateCount: onDemand ? Int(metadata["candidate_count"] ?? "") : nil)
    if onDemand {
      return StoreSnapshot(
        path: path, header: header, users: users, items: items, titles: titles,
        userSupport: userSupport, itemSupport: itemSupport, modelKeys: keys, blend: blend,
        models: models, reader: try OnDemandUsers(path: path, capacity: cacheCapacity),
        stopwatch: stopwatch)
    }
    return try StoreSnapshot(
      path: path, header: header, users: users, items: items, titles: titles,
      userSupport: userSupport, itemSupport: itemSupport, modelKeys: keys, blend: blend,
      models: models, blobs: blobs, checksums: checksums, stopwatch: stopwatch)
  }
}
