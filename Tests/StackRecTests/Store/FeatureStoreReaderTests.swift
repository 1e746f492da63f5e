import Testing

@testable import StackRec

/// Damaged, foreign and missing files must fail to load with an error that
/// names the file.
@Suite struct FeatureStoreReaderTests {
  /// Writes a small valid store and runs `body` with its directory and path.
  private func withStore(_ body: (StoreTestDirectory, String) throws -> Void) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      let content = StoreFixtures.randomContent(seed: 21, userCount: 12, itemCount: 10)
      _ = try FeatureStoreWriter.write(content, to: path)
      try body(directory, path)
    }
  }

  /// Loads `path`, recording an issue if it loads.
  private func loadError(_ path: String) -> (any Error)? {
    #expect(throws: (any Error).self, "\(path) loaded") {
      try FeatureStoreReader.load(path: path)
    }
  }

  /// Runs SQL against a store in place, outside the writer.
  private func edit(_ path: String, _ sql: String, blob: [UInt8]? = nil) throws {
    let database = try SQLiteDatabase(path: path, mode: .createReadWrite)
    let statement = try database.prepare(sql)
    if let blob { try statement.bind(1, blob) }
    try statement.step()
  }

  /// Reads one user's compressed score blob straight from the file.
  private func storedBlob(_ path: String, user: Int) throws -> [UInt8] {
    let database = try SQLiteDatabase(path: path, mode: .readOnly(immutable: false))
    let statement = try database.prepare(
      "SELECT scores FROM users WHERE user_index = \(user)")
    #expect(try statement.step())
    return statement.blob(0)
  }

  // MARK: - Damaged stores

  @Test func validStoreLoads() throws {
    try withStore { _, path throws in
      let snapshot = try FeatureStoreReader.load(path: path)
      #expect(snapshot.userCount == 12)
    }
  }

  @Test func flippedBlobByteIsRejected() throws {
    try withStore { _, path throws in
      // Find the user's compressed blob among the file's bytes and flip one
      // bit in it, leaving every SQLite page structure intact.
      let blob = try storedBlob(path, user: 4)
      try #require(blob.count >= 24)
      var file = try readStoreTestFile(path)
      let needle = Array(blob.prefix(24))
      let start = try #require(
        (0...(file.count - needle.count)).first {
          file[$0..<$0 + needle.count].elementsEqual(needle)
        })
      file[start + 10] ^= 0x04
      try writeStoreTestFile(path, file)

      let error = loadError(path)
      switch error as? StoreError {
      case .corrupt(let errorPath, let reason)?:
        #expect(errorPath == path)
        #expect(reason.contains("user index 4"))
      case .checksumMismatch(let errorPath, let part)?:
        #expect(errorPath == path)
        #expect(part == "the blob of user index 4")
      default:
        Issue.record("expected a corrupt store error, got \(String(describing: error))")
      }
      #expect("\(error.map { "\($0)" } ?? "")".hasPrefix(path))
    }
  }

  @Test func rewrittenBlobFailsChecksum() throws {
    try withStore { _, path throws in
      // A blob that still decompresses and parses but whose content changed:
      // only the CRC-32 column can tell.
      var bytes = try Zlib.decompress(try storedBlob(path, user: 4), maxSize: 1 << 16)
      bytes[bytes.count - 1] ^= 0x01
      try edit(
        path, "UPDATE users SET scores = ? WHERE user_index = 4",
        blob: try Zlib.compress(bytes))

      let error = loadError(path) as? StoreError
      #expect(error == .checksumMismatch(path: path, part: "the blob of user index 4"))
    }
  }

  @Test func editedTitleFailsChecksum() throws {
    try withStore { _, path throws in
      try edit(path, "UPDATE items SET title = 'Changed' WHERE item_index = 2")
      let error = loadError(path) as? StoreError
      #expect(error == .checksumMismatch(path: path, part: "the metadata or item table"))
    }
  }

  @Test func editedMetadataFailsChecksum() throws {
    try withStore { _, path throws in
      try edit(path, "UPDATE metadata SET value = '-0.1' WHERE key = 'meta_intercepts'")
      let error = loadError(path) as? StoreError
      #expect(error == .checksumMismatch(path: path, part: "the metadata or item table"))
    }
  }

  @Test func editedModelChecksumIsRejected() throws {
    try withStore { _, path throws in
      try edit(path, "UPDATE models SET checksum = checksum + 1 WHERE position = 1")
      let error = loadError(path) as? StoreError
      #expect(error == .checksumMismatch(path: path, part: "model 'additive'"))
    }
  }

  @Test func missingUserRowIsRejected() throws {
    try withStore { _, path throws in
      try edit(path, "DELETE FROM users WHERE user_index = 11")
      let error = loadError(path) as? StoreError
      #expect(error == .corrupt(path: path, reason: "expected 12 users, found 11"))
    }
  }

  @Test func truncatedFileIsRejected() throws {
    try withStore { _, path throws in
      let file = try readStoreTestFile(path)
      try writeStoreTestFile(path, Array(file.prefix(file.count / 2)))
      let error = loadError(path)
      #expect("\(error.map { "\($0)" } ?? "")".contains(path))
    }
  }

  // MARK: - Foreign files

  @Test(arguments: ["random bytes", "empty", "text"])
  func nonSQLiteFileIsForeign(kind: String) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      var generator = SeededGenerator(seed: 3)
      let bytes: [UInt8] =
        switch kind {
        case "random bytes": (0..<4096).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        case "empty": []
        default: Array("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n".utf8)
        }
      try writeStoreTestFile(path, bytes)

      let error = loadError(path)
      guard let error = error as? StoreError, case .foreignFile(let errorPath, _) = error else {
        Issue.record("expected foreignFile, got \(String(describing: error))")
        return
      }
      #expect(errorPath == path)
      #expect(error.description.contains("not a stackrec feature store"))
    }
  }

  @Test func otherSQLiteDatabaseIsForeign() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      do {
        let database = try SQLiteDatabase(path: path, mode: .createReadWrite)
        try database.execute(
          """
          CREATE TABLE movies (movie_id INTEGER PRIMARY KEY, title TEXT);
          INSERT INTO movies VALUES (1, 'Toy Story (1995)');
          """)
      }
      let error = loadError(path) as? StoreError
      #expect(error == .foreignFile(path: path, reason: "its application id is not stackrec's"))
    }
  }

  @Test(arguments: [(2, "upgrade stackrec-blend"), (0, "rerun stackrec-precompute")])
  func otherFormatVersionIsUnsupported(version: Int, advice: String) throws {
    try withStore { _, path throws in
      try edit(path, "PRAGMA user_version = \(version)")
      let error = loadError(path) as? StoreError
      #expect(error == .unsupportedVersion(path: path, found: version, supported: 1))
      #expect(error?.description.contains(advice) == true)
      #expect(error?.description.hasPrefix(path) == true)
    }
  }

  // MARK: - Missing files

  @Test func missingFileNamesPath() throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("absent.sqlite")
      let error = loadError(path) as? StoreError
      #expect(error == .notFound(path: path))
      #expect(error?.description.hasPrefix("\(path): feature store not found") == true)
      #expect(error?.description.contains("stackrec-precompute --out \(path)") == true)
    }
  }

  @Test func directoryIsRejectedNamingPath() throws {
    try StoreTestDirectory.with { directory throws in
      let error = loadError(directory.path)
      #expect("\(error.map { "\($0)" } ?? "")".contains(directory.path))
    }
  }

  @Test func directoryIsForeignNotDiskError() throws {
    try StoreTestDirectory.with { directory throws in
      let error = loadError(directory.path) as? StoreError
      #expect(error == .foreignFile(path: directory.path, reason: "it is a directory"))
      #expect(error?.description.contains("disk I/O error") == false)
    }
  }
}
