import CZlib
import Foundation
import Testing

@testable import StackRec

@Suite struct ZipArchiveTests {
  // MARK: - Reading

  @Test func storedAndDeflatedRoundTrip() throws {
    let text = Array("hello, archive\n".utf8)
    let pattern = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 % 251 ^ $0 / 7) }
    var writer = TestZipWriter()
    writer.addDirectory("folder/")
    writer.add("folder/hello.txt", text)
    writer.add("folder/pattern.bin", pattern, method: .deflate)
    writer.add("empty-stored.txt", [])
    writer.add("empty-deflated.txt", [], method: .deflate)
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "round-trip.zip")

    #expect(
      archive.entries.map(\.name) == [
        "folder/", "folder/hello.txt", "folder/pattern.bin", "empty-stored.txt",
        "empty-deflated.txt",
      ])
    #expect(archive.entries.map(\.method) == [0, 0, 8, 0, 8])
    #expect(archive.entries.map(\.isDirectory) == [true, false, false, false, false])
    let patternEntry = try #require(archive.entry(named: "folder/pattern.bin"))
    #expect(patternEntry.uncompressedSize == pattern.count)
    #expect(patternEntry.compressedSize < pattern.count)
    #expect(patternEntry.crc32 == crc32Of(pattern))

    #expect(try archive.extract(#require(archive.entry(named: "folder/hello.txt"))) == text)
    #expect(try archive.extract(patternEntry) == pattern)
    #expect(try archive.extract(#require(archive.entry(named: "empty-stored.txt"))) == [])
    #expect(try archive.extract(#require(archive.entry(named: "empty-deflated.txt"))) == [])
    #expect(try archive.extract(#require(archive.entry(named: "folder/"))) == [])
  }

  @Test func emptyArchiveHasNoEntries() throws {
    let archive = try ZipArchive(bytes: TestZipWriter().build().bytes, path: "empty.zip")
    #expect(archive.entries.isEmpty)
  }

  @Test func archiveCommentIsSkipped() throws {
    var writer = TestZipWriter()
    writer.add("a.txt", Array("a".utf8))
    writer.comment = Array("a comment that ends the file".utf8)
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "comment.zip")
    #expect(archive.entries.map(\.name) == ["a.txt"])
    #expect(try archive.extract(archive.entries[0]) == Array("a".utf8))
  }

  // MARK: - Corrupt and truncated archives

  @Test func storedChecksumMismatchRejected() throws {
    let data = Array("checksummed contents".utf8)
    var writer = TestZipWriter()
    writer.add("data.txt", data)
    let built = writer.build()
    var bytes = built.bytes
    let position = try #require(built.dataRanges["data.txt"]).lowerBound + 3
    bytes[position] ^= 0x20
    var flipped = data
    flipped[3] ^= 0x20

    let archive = try ZipArchive(bytes: bytes, path: "flipped.zip")
    let error = try #require(throws: ArchiveError.self) {
      try archive.extract(archive.entries[0])
    }
    #expect(
      error
        == .checksumMismatch(
          archive: "flipped.zip", entry: "data.txt", expected: crc32Of(data),
          actual: crc32Of(flipped)))
    #expect(error.description.contains("flipped.zip"))
    #expect(error.description.contains("'data.txt'"))
    #expect(error.description.contains(String(crc32Of(data), radix: 16)))
  }

  @Test func deflatedCorruptionRejected() throws {
    let data = Array(String(repeating: "compressible text ", count: 200).utf8)
    var writer = TestZipWriter()
    writer.add("text.txt", data, method: .deflate)
    let built = writer.build()
    let range = try #require(built.dataRanges["text.txt"])

    // Every single-byte flip must fail, whether zlib or the CRC-32 check catches it.
    for position in range {
      var bytes = built.bytes
      bytes[position] ^= 0x01
      let archive = try ZipArchive(bytes: bytes, path: "corrupt.zip")
      #expect(throws: ArchiveError.self, "flipped byte at offset \(position)") {
        try archive.extract(archive.entries[0])
      }
    }
  }

  @Test func truncatedArchiveRejected() throws {
    var writer = TestZipWriter()
    writer.add("a.txt", Array("first entry".utf8))
    writer.add("b.txt", Array(String(repeating: "b", count: 500).utf8), method: .deflate)
    let bytes = writer.build().bytes

    for length in [0, 10, 21, bytes.count / 2, bytes.count - 22, bytes.count - 1] {
      let error = try #require(throws: ArchiveError.self, "length \(length)") {
        try ZipArchive(bytes: Array(bytes.prefix(length)), path: "cut.zip")
      }
      #expect(error == .endOfCentralDirectoryNotFound(archive: "cut.zip"), "length \(length)")
    }
  }

  @Test func missingDataBytesRejected() throws {
    var writer = TestZipWriter()
    writer.add("a.txt", Array("some stored data".utf8))
    let built = writer.build()
    let range = try #require(built.dataRanges["a.txt"])
    var bytes = built.bytes
    bytes.removeSubrange((range.lowerBound + 2)..<(range.lowerBound + 6))

    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: bytes, path: "short.zip")
    }
    guard case .corruptDirectory(let archive, let reason) = error else {
      Issue.record("expected corruptDirectory, got \(error)")
      return
    }
    #expect(archive == "short.zip")
    #expect(reason.contains("truncated"))
  }

  @Test func deflateStreamEndingEarlyRejected() throws {
    let data = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
    var writer = TestZipWriter()
    writer.add("cut.bin", data, method: .deflate, keepCompressedBytes: 40)
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "early.zip")

    let error = try #require(throws: ArchiveError.self) {
      try archive.extract(archive.entries[0])
    }
    guard case .corruptEntry(let name, let entry, let reason) = error else {
      Issue.record("expected corruptEntry, got \(error)")
      return
    }
    #expect(name == "early.zip")
    #expect(entry == "cut.bin")
    #expect(reason.contains("ends early"))
  }

  @Test func declaredSizeTooLargeRejected() throws {
    let data = Array(String(repeating: "size ", count: 100).utf8)
    var writer = TestZipWriter()
    writer.add("size.txt", data, method: .deflate, declaredSize: data.count + 1)
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "size.zip")

    let error = try #require(throws: ArchiveError.self) {
      try archive.extract(archive.entries[0])
    }
    #expect(
      error
        == .sizeMismatch(
          archive: "size.zip", entry: "size.txt", expected: data.count + 1, actual: data.count))
  }

  @Test func declaredSizeTooSmallRejected() throws {
    let data = Array(String(repeating: "size ", count: 100).utf8)
    var writer = TestZipWriter()
    writer.add("one-short.txt", data, method: .deflate, declaredSize: data.count - 1)
    writer.add("far-short.txt", data, method: .deflate, declaredSize: 10)
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "size.zip")

    let oneShort = try #require(throws: ArchiveError.self) {
      try archive.extract(archive.entries[0])
    }
    #expect(
      oneShort
        == .sizeMismatch(
          archive: "size.zip", entry: "one-short.txt", expected: data.count - 1,
          actual: data.count))

    let farShort = try #require(throws: ArchiveError.self) {
      try archive.extract(archive.entries[1])
    }
    guard case .corruptEntry(_, let entry, let reason) = farShort else {
      Issue.record("expected corruptEntry, got \(farShort)")
      return
    }
    #expect(entry == "far-short.txt")
    #expect(reason.contains("more than the declared 10 bytes"))
  }

  @Test func localHeaderNameMismatchRejected() throws {
    var writer = TestZipWriter()
    writer.add("right.txt", Array("x".utf8), localName: "wrong.txt")
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "names.zip")

    let error = try #require(throws: ArchiveError.self) {
      try archive.extract(archive.entries[0])
    }
    guard case .corruptEntry(_, let entry, let reason) = error else {
      Issue.record("expected corruptEntry, got \(error)")
      return
    }
    #expect(entry == "right.txt")
    #expect(reason.contains("wrong.txt"))
  }

  // MARK: - Rejected entries

  static let unsafeNames = [
    "../evil", "folder/../../evil", "folder/..", "/etc/passwd", "folder\\evil", "a//b", "./a",
    "",
  ]

  @Test(arguments: unsafeNames)
  func unsafeNameRejected(name: String) throws {
    var writer = TestZipWriter()
    writer.add("fine.txt", Array("fine".utf8))
    writer.add(name, Array("evil".utf8))
    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: writer.build().bytes, path: "unsafe.zip")
    }
    guard case .unsafeName(let archive, let entry, _) = error else {
      Issue.record("expected unsafeName for '\(name)', got \(error)")
      return
    }
    #expect(archive == "unsafe.zip")
    #expect(entry == name)
  }

  @Test func dotDotEntryNamedInMessage() throws {
    var writer = TestZipWriter()
    writer.add("../evil", Array("evil".utf8))
    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: writer.build().bytes, path: "/tmp/evil.zip")
    }
    #expect(error.description.contains("/tmp/evil.zip"))
    #expect(error.description.contains("'../evil'"))
    #expect(error.description.contains("'..'"))
  }

  @Test(arguments: ["..hidden", "a..b/c", "dots.../x", "folder/sub/", "unicode-é.txt"])
  func unusualSafeNameAccepted(name: String) throws {
    var writer = TestZipWriter()
    if name.hasSuffix("/") {
      writer.addDirectory(name)
    } else {
      writer.add(name, Array("ok".utf8))
    }
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "safe.zip")
    #expect(archive.entries.map(\.name) == [name])
  }

  @Test func encryptedEntryRejected() throws {
    var writer = TestZipWriter()
    writer.add("secret.txt", Array("not really encrypted".utf8), flags: 1)
    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: writer.build().bytes, path: "secret.zip")
    }
    #expect(error == .encryptedEntry(archive: "secret.zip", entry: "secret.txt"))
  }

  @Test func unsupportedMethodRejected() throws {
    var writer = TestZipWriter()
    writer.add("data.bz2", Array("BZh9".utf8), declaredMethod: 12)
    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: writer.build().bytes, path: "bzip2.zip")
    }
    #expect(error == .unsupportedMethod(archive: "bzip2.zip", entry: "data.bz2", method: 12))
    #expect(error.description.contains("bzip2"))
  }

  @Test func zip64ExtraFieldRejected() throws {
    var writer = TestZipWriter()
    let zip64Field: [UInt8] = [0x01, 0x00, 0x08, 0x00] + [UInt8](repeating: 0, count: 8)
    writer.add("big.bin", Array("small".utf8), extraField: zip64Field)
    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: writer.build().bytes, path: "zip64.zip")
    }
    #expect(error == .zip64(archive: "zip64.zip", entry: "big.bin"))
  }

  @Test func zip64SizeMarkerRejected() throws {
    var writer = TestZipWriter()
    writer.add("big.bin", Array("small".utf8), declaredSize: Int(UInt32.max))
    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: writer.build().bytes, path: "zip64.zip")
    }
    #expect(error == .zip64(archive: "zip64.zip", entry: "big.bin"))
  }

  @Test func duplicateNameRejected() throws {
    var writer = TestZipWriter()
    writer.add("twice.txt", Array("one".utf8))
    writer.add("twice.txt", Array("two".utf8))
    let error = try #require(throws: ArchiveError.self) {
      try ZipArchive(bytes: writer.build().bytes, path: "twice.zip")
    }
    #expect(error == .duplicateEntry(archive: "twice.zip", entry: "twice.txt"))
  }

  // MARK: - Extracting to disk

  @Test func extractAllWritesTree() throws {
    let pattern = (0..<3_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
    var writer = TestZipWriter()
    writer.addDirectory("top/")
    writer.addDirectory("top/empty/")
    writer.add("top/nested/deep.bin", pattern, method: .deflate)
    writer.add("top/a.txt", Array("a".utf8))
    writer.add("loose.txt", Array("loose".utf8), method: .deflate)
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "tree.zip")

    try withTemporaryDirectory { root in
      try archive.extractAll(to: root)

      #expect(try directoryListing(root) == ["loose.txt", "top"])
      #expect(try directoryListing(root + "/top") == ["a.txt", "empty", "nested"])
      #expect(try directoryListing(root + "/top/empty") == [])
      #expect(try fileBytes(root + "/top/nested/deep.bin") == pattern)
      #expect(try fileBytes(root + "/top/a.txt") == Array("a".utf8))
      #expect(try fileBytes(root + "/loose.txt") == Array("loose".utf8))
    }
  }

  @Test func extractAllCreatesMissingDestination() throws {
    var writer = TestZipWriter()
    writer.add("folder/file.txt", Array("x".utf8))
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "new.zip")

    try withTemporaryDirectory { root in
      try archive.extractAll(to: root + "/one/two")
      #expect(try fileBytes(root + "/one/two/folder/file.txt") == Array("x".utf8))
      #expect(try directoryListing(root + "/one/two") == ["folder"])
    }
  }

  @Test func failedExtractAllLeavesNothingBehind() throws {
    var writer = TestZipWriter()
    writer.add("good/first.txt", Array("fine".utf8))
    writer.add("good/second.bin", Array(repeating: 7, count: 1_000), method: .deflate)
    writer.add("bad.txt", Array("to be corrupted".utf8))
    let built = writer.build()
    var bytes = built.bytes
    bytes[try #require(built.dataRanges["bad.txt"]).lowerBound] ^= 0xff
    let archive = try ZipArchive(bytes: bytes, path: "half.zip")

    try withTemporaryDirectory { root in
      try Data("keep".utf8).write(to: URL(fileURLWithPath: root + "/keep.txt"))

      let error = try #require(throws: ArchiveError.self) {
        try archive.extractAll(to: root)
      }
      guard case .checksumMismatch(_, let entry, _, _) = error else {
        Issue.record("expected checksumMismatch, got \(error)")
        return
      }
      #expect(entry == "bad.txt")
      #expect(try directoryListing(root) == ["keep.txt"])

      // A destination that extraction created is removed again, with its new parents.
      #expect(throws: ArchiveError.self) {
        try archive.extractAll(to: root + "/new/deeper")
      }
      #expect(try directoryListing(root) == ["keep.txt"])
    }
  }

  @Test func existingDirectoryIsNotMerged() throws {
    var writer = TestZipWriter()
    writer.add("first.txt", Array("new".utf8))
    writer.add("taken/file.txt", Array("new".utf8))
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "taken.zip")

    try withTemporaryDirectory { root in
      try FileManager.default.createDirectory(
        atPath: root + "/taken", withIntermediateDirectories: false)
      try Data("mine".utf8).write(to: URL(fileURLWithPath: root + "/taken/mine.txt"))

      let error = try #require(throws: ArchiveError.self) {
        try archive.extractAll(to: root)
      }
      #expect(error == .destinationExists(archive: "taken.zip", path: root + "/taken"))
      #expect(try directoryListing(root) == ["taken"])
      #expect(try directoryListing(root + "/taken") == ["mine.txt"])
    }
  }

  @Test func existingFileIsReplaced() throws {
    var writer = TestZipWriter()
    writer.add("file.txt", Array("new".utf8))
    writer.addDirectory("empty/")
    let archive = try ZipArchive(bytes: writer.build().bytes, path: "replace.zip")

    try withTemporaryDirectory { root in
      try Data("old".utf8).write(to: URL(fileURLWithPath: root + "/file.txt"))
      try FileManager.default.createDirectory(
        atPath: root + "/empty", withIntermediateDirectories: false)

      try archive.extractAll(to: root)
      #expect(try fileBytes(root + "/file.txt") == Array("new".utf8))
      #expect(try directoryListing(root) == ["empty", "file.txt"])
    }
  }
}

// MARK: - The MovieLens archive

/// The folder named by `STACKREC_DATA_DIR`, which contains `ml-latest-small.zip` and its unpacked
/// copy `ml-latest-small/`, or nil when the variable is not set.
let movieLensDataDirectory = ProcessInfo.processInfo.environment["STACKREC_DATA_DIR"]

@Suite(.enabled(if: movieLensDataDirectory != nil, "STACKREC_DATA_DIR is not set"))
struct MovieLensArchiveTests {
  @Test func archiveHashMatchesDefault() throws {
    let bytes = try fileBytes(try #require(movieLensDataDirectory) + "/ml-latest-small.zip")
    #expect(SHA256.hexDigest(bytes) == DatasetFetcher.defaultSHA256)
  }

  @Test func unpackedFilesMatchReference() throws {
    let dataDirectory = try #require(movieLensDataDirectory)
    let archivePath = dataDirectory + "/ml-latest-small.zip"
    let archive = try ZipArchive(bytes: fileBytes(archivePath), path: archivePath)
    #expect(archive.entry(named: "ml-latest-small/ratings.csv") != nil)
    #expect(archive.entry(named: "ml-latest-small/movies.csv") != nil)

    try withTemporaryDirectory { root in
      try archive.extractAll(to: root)
      for name in ["ratings.csv", "movies.csv"] {
        let extracted = try fileBytes(root + "/ml-latest-small/" + name)
        let reference = try fileBytes(dataDirectory + "/ml-latest-small/" + name)
        #expect(extracted.count == reference.count, "\(name) size")
        #expect(extracted == reference, "\(name) contents")
      }
    }
  }
}

// MARK: - Helpers

/// Runs `body` with the path of a fresh temporary directory and removes the directory after.
func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
  var template = Array((NSTemporaryDirectory() + "/stackrec-test-XXXXXX").utf8CString)
  let path = try #require(
    template.withUnsafeMutableBufferPointer { buffer in
      mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
    })
  defer { try? FileManager.default.removeItem(atPath: path) }
  try body(path)
}

/// Returns the sorted names in a directory, hidden ones included.
func directoryListing(_ directory: String) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

/// Returns the bytes of a file.
func fileBytes(_ path: String) throws -> [UInt8] {
  Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Returns zlib's CRC-32 of the bytes.
func crc32Of(_ bytes: [UInt8]) -> UInt32 {
  bytes.withUnsafeBytes { buffer in
    UInt32(
      truncatingIfNeeded: crc32(
        0, buffer.bindMemory(to: Bytef.self).baseAddress, uInt(buffer.count)))
  }
}

/// Compresses bytes into a raw deflate stream (no zlib header or trailer), as zip stores them.
func rawDeflate(_ bytes: [UInt8]) -> [UInt8] {
  var stream = z_stream()
  let initStatus = stackrec_deflate_init2(
    &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
  precondition(initStatus == Z_OK, "deflateInit2 failed with \(initStatus)")
  defer { deflateEnd(&stream) }

  var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 16)
  var input = bytes
  let status = input.withUnsafeMutableBytes { inputBuffer in
    output.withUnsafeMutableBytes { outputBuffer in
      stream.next_in = inputBuffer.bindMemory(to: Bytef.self).baseAddress
      stream.avail_in = uInt(inputBuffer.count)
      stream.next_out = outputBuffer.bindMemory(to: Bytef.self).baseAddress
      stream.avail_out = uInt(outputBuffer.count)
      return deflate(&stream, Z_FINISH)
    }
  }
  precondition(status == Z_STREAM_END, "deflate failed with \(status)")
  return Array(output.prefix(Int(stream.total_out)))
}

/// A minimal zip writer for tests: local headers, data, central directory and end record
/// (APPNOTE.TXT sections 4.3.7, 4.3.12 and 4.3.16), with ways to write deliberately wrong
/// fields.
struct TestZipWriter {
  enum Method {
    case stored, deflate
  }

  struct Item {
    var name: String
    var localName: String
    var data: [UInt8]
    var method: Method
    var declaredMethod: UInt16?
    var declaredSize: Int?
    var keepCompressedBytes: Int?
    var flags: UInt16
    var extraField: [UInt8]
  }

  /// The bytes of the archive and where each entry's stored data sits in them.
  struct Built {
    var bytes: [UInt8]
    var dataRanges: [String: Range<Int>]
  }

  var items: [Item] = []
  var comment: [UInt8] = []

  /// Adds a file entry. The optional values write misleading headers.
  ///
  /// - Parameters:
  ///   - localName: The name in the local file header, when it should differ.
  ///   - declaredMethod: The method number written, without compressing that way.
  ///   - declaredSize: The uncompressed size written, in place of the real one.
  ///   - keepCompressedBytes: Keep only this many compressed bytes.
  mutating func add(
    _ name: String, _ data: [UInt8], method: Method = .stored, localName: String? = nil,
    declaredMethod: UInt16? = nil, declaredSize: Int? = nil, keepCompressedBytes: Int? = nil,
    flags: UInt16 = 0, extraField: [UInt8] = []
  ) {
    items.append(
      Item(
        name: name, localName: localName ?? name, data: data, method: method,
        declaredMethod: declaredMethod, declaredSize: declaredSize,
        keepCompressedBytes: keepCompressedBytes, flags: flags, extraField: extraField))
  }

  mutating func addDirectory(_ name: String) {
    add(name, [])
  }

  func build() -> Built {
    var output: [UInt8] = []
    var central: [UInt8] = []
    var dataRanges: [String: Range<Int>] = [:]

    for item in items {
      var stored = item.method == .deflate ? rawDeflate(item.data) : item.data
      if let keep = item.keepCompressedBytes {
        stored = Array(stored.prefix(keep))
      }
      let method = item.declaredMethod ?? (item.method == .deflate ? 8 : 0)
      let crc = crc32Of(item.data)
      let size = UInt32(truncatingIfNeeded: item.declaredSize ?? item.data.count)
      let name = Array(item.name.utf8)
      let localName = Array(item.localName.utf8)
      let offset = UInt32(output.count)

      // Local file header.
      append32(&output, 0x0403_4b50)
      append16(&output, 20)
      append16(&output, item.flags | 0x0800)
      append16(&output, method)
      append16(&output, 0)
      append16(&output, 0x21)
      append32(&output, crc)
      append32(&output, UInt32(stored.count))
      append32(&output, size)
      append16(&output, UInt16(localName.count))
      append16(&output, UInt16(item.extraField.count))
      output += localName + item.extraField
      dataRanges[item.name] = output.count..<(output.count + stored.count)
      output += stored

      // Central directory header.
      append32(&central, 0x0201_4b50)
      append16(&central, 0x031e)
      append16(&central, 20)
      append16(&central, item.flags | 0x0800)
      append16(&central, method)
      append16(&central, 0)
      append16(&central, 0x21)
      append32(&central, crc)
      append32(&central, UInt32(stored.count))
      append32(&central, size)
      append16(&central, UInt16(name.count))
      append16(&central, UInt16(item.extraField.count))
      append16(&central, 0)
      append16(&central, 0)
      append16(&central, 0)
      append32(&central, item.name.hasSuffix("/") ? 0o40755 << 16 : 0o100644 << 16)
      append32(&central, offset)
      central += name + item.extraField
    }

    // End of central directory record.
    let centralOffset = UInt32(output.count)
    output += central
    append32(&output, 0x0605_4b50)
    append16(&output, 0)
    append16(&output, 0)
    append16(&output, UInt16(items.count))
    append16(&output, UInt16(items.count))
    append32(&output, UInt32(central.count))
    append32(&output, centralOffset)
    append16(&output, UInt16(comment.count))
    output += comment
    return Built(bytes: output, dataRanges: dataRanges)
  }

  private func append16(_ bytes: inout [UInt8], _ value: UInt16) {
    bytes.append(UInt8(truncatingIfNeeded: value))
    bytes.append(UInt8(truncatingIfNeeded: value >> 8))
  }

  private func append32(_ bytes: inout [UInt8], _ value: UInt32) {
    append16(&bytes, UInt16(truncatingIfNeeded: value))
    append16(&bytes, UInt16(truncatingIfNeeded: value >> 16))
  }
}
