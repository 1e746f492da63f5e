import CZlib
import Foundation

/// A .zip archive held in memory, read through its central directory.
///
/// The reader follows APPNOTE.TXT, the .ZIP File Format Specification from PKWARE (version
/// 6.3.x). It finds the end of central directory record (section 4.3.16) and reads every
/// central directory header (section 4.3.12). For each entry it checks the local file header
/// (section 4.3.7) in front of the data. Entries stored (method 0) or deflated (method 8) are
/// supported. Every extracted entry has its CRC-32 and uncompressed size checked against the
/// central directory.
///
/// Opening an archive rejects what this reader cannot extract safely: ZIP64 records, archives
/// that span several disks, encrypted entries, other compression methods, duplicate names and
/// unsafe names (absolute paths, `.` or `..` components, empty components, backslashes).
///
/// ```
/// let archive = try ZipArchive(bytes: bytes, path: "ml-latest-small.zip")
/// try archive.extractAll(to: "data")  // creates data/ml-latest-small/ratings.csv, ...
/// ```
///
/// NOTE: Extraction writes regular files with mode 0644 and directories with mode 0755. It
/// restores neither the permissions nor the modification times recorded in the archive, and
/// it writes a symbolic link entry as a regular file that contains the link target.
public struct ZipArchive: Sendable {
  /// One file or directory recorded in the central directory.
  public struct Entry: Sendable, Equatable {
    /// The path inside the archive, with `/` separators. A directory's name ends with `/`.
    public let name: String

    /// The compression method: 0 for stored, 8 for deflate.
    public let method: UInt16

    /// The CRC-32 of the uncompressed data.
    public let crc32: UInt32

    /// The size in bytes of the data as stored in the archive.
    public let compressedSize: Int

    /// The size in bytes of the extracted data.
    public let uncompressedSize: Int

    /// The offset of the entry's local file header from the start of the archive.
    let localHeaderOffset: Int

    /// Whether the entry is a directory, which the format marks by a trailing `/`.
    public var isDirectory: Bool { name.hasSuffix("/") }
  }

  /// The archive's file path or URL, used in error messages.
  public let path: String

  /// The entries in central directory order.
  public let entries: [Entry]

  private let bytes: [UInt8]

  /// The offset of the central directory, which is also where entry data must end.
  private let centralDirectoryOffset: Int

  /// Parses the central directory of an archive held in memory.
  ///
  /// - Parameters:
  ///   - bytes: The whole archive.
  ///   - path: The archive's file path or URL, for error messages.
  /// - Throws: `ArchiveError` when the archive is truncated or corrupt, uses ZIP64, spans
  ///   several disks, or has an encrypted entry, an entry compressed with another method than
  ///   stored or deflate, a duplicate name or an unsafe name.
  public init(bytes: [UInt8], path: String) throws {
    self.bytes = bytes
    self.path = path

    let directory = try Self.readEndOfCentralDirectory(bytes, path: path)
    centralDirectoryOffset = directory.offset
    entries = try Self.readCentralDirectory(bytes, path: path, directory: directory)
  }

  /// Returns the entry with exactly this name, or nil when the archive has none.
  public func entry(named name: String) -> Entry? {
    entries.first { $0.name == name }
  }

  /// Returns the uncompressed data of an entry after checking its CRC-32 and size.
  ///
  /// - Throws: `ArchiveError` when the local file header does not match the central
  ///   directory, the data is truncated or corrupt, or the checksum or size is wrong.
  public func extract(_ entry: Entry) throws -> [UInt8] {
    let dataRange = try locateData(of: entry)

    let data: [UInt8]
    if entry.method == Self.methodStored {
      guard entry.compressedSize == entry.uncompressedSize else {
        throw ArchiveError.corruptEntry(
          archive: path, entry: entry.name,
          reason: "the entry is stored but its compressed size \(entry.compressedSize) differs "
            + "from its uncompressed size \(entry.uncompressedSize)")
      }
      data = Array(bytes[dataRange])
    } else {
      data = try inflate(entry, dataRange: dataRange)
    }

    guard data.count == entry.uncompressedSize else {
      throw ArchiveError.sizeMismatch(
        archive: path, entry: entry.name, expected: entry.uncompressedSize, actual: data.count)
    }
    let checksum = data.withUnsafeBytes { buffer in
      let start = buffer.bindMemory(to: Bytef.self).baseAddress
      return UInt32(truncatingIfNeeded: CZlib.crc32(0, start, uInt(buffer.count)))
    }
    guard checksum == entry.crc32 else {
      throw ArchiveError.checksumMismatch(
        archive: path, entry: entry.name, expected: entry.crc32, actual: checksum)
    }
    return data
  }

  /// Extracts every entry under `directory`, creating it and its missing parents.
  ///
  /// The entries are first written into a fresh hidden directory inside `directory`, and
  /// only when all of them have been extracted and verified is each top-level file or
  /// folder renamed into place. On failure the hidden directory, any top-level item already
  /// moved and any directory that this call created are removed, so the destination looks
  /// as it did before. An existing file with a top-level name is replaced, but an existing
  /// directory must be empty.
  ///
  /// - Throws: `ArchiveError` for a bad entry, a top-level name that is taken, or a failed
  ///   file system call.
  public func extractAll(to directory: String) throws {
    let createdDirectories = try createDirectories(directory)
    var succeeded = false
    defer {
      if !succeeded {
        for created in createdDirectories.reversed() {
          _ = Glibc.rmdir(created)
        }
      }
    }

    let staging = try makeStagingDirectory(in: directory)
    defer { try? FileManager.default.removeItem(atPath: staging) }

    for entry in entries {
      try writeEntry(entry, under: staging)
    }
    try moveTopLevelItems(from: staging, to: directory)
    succeeded = true
  }
}

// MARK: - Central directory

extension ZipArchive {
  static let methodStored: UInt16 = 0
  static let methodDeflate: UInt16 = 8

  private static let endOfCentralDirectorySignature: UInt32 = 0x0605_4b50
  private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
  private static let centralHeaderSignature: UInt32 = 0x0201_4b50
  private static let localHeaderSignature: UInt32 = 0x0403_4b50

  private static let endOfCentralDirectorySize = 22
  private static let zip64LocatorSize = 20
  private static let centralHeaderSize = 46
  private static let localHeaderSize = 30

  /// General purpose flag bits (APPNOTE.TXT section 4.4.4): bit 0 marks an encrypted entry
  /// and bit 6 strong encryption.
  private static let flagEncrypted: UInt16 = 1 << 0
  private static let flagStrongEncryption: UInt16 = 1 << 6

  /// The extra field header ID of the ZIP64 extended information field.
  private static let zip64ExtraFieldID: UInt16 = 0x0001

  /// The fields of the end of central directory record that locate the central directory.
  struct CentralDirectoryLocation {
    var offset: Int
    var size: Int
    var entryCount: Int
  }

  /// Finds the end of central directory record, which sits at the very end of the archive
  /// followed only by a comment of up to 65,535 bytes.
  private static func readEndOfCentralDirectory(
    _ bytes: [UInt8], path: String
  ) throws -> CentralDirectoryLocation {
    let lastStart = bytes.count - endOfCentralDirectorySize
    guard lastStart >= 0 else {
      throw ArchiveError.endOfCentralDirectoryNotFound(archive: path)
    }

    // Scan backwards for a signature whose comment length reaches exactly the end of the file.
    var recordOffset: Int? = nil
    var start = lastStart
    while start >= max(0, lastStart - Int(UInt16.max)) {
      if readUInt32(bytes, start) == endOfCentralDirectorySignature
        && start + endOfCentralDirectorySize + Int(readUInt16(bytes, start + 20)) == bytes.count
      {
        recordOffset = start
        break
      }
      start -= 1
    }
    guard let record = recordOffset else {
      throw ArchiveError.endOfCentralDirectoryNotFound(archive: path)
    }

    let diskNumber = readUInt16(bytes, record + 4)
    let directoryDisk = readUInt16(bytes, record + 6)
    let entriesOnDisk = readUInt16(bytes, record + 8)
    let entryCount = readUInt16(bytes, record + 10)
    let size = readUInt32(bytes, record + 12)
    let offset = readUInt32(bytes, record + 16)

    // A ZIP64 archive stores 0xFFFF or 0xFFFFFFFF here and the real values in a ZIP64 end of
    // central directory record, announced by a locator just before this record.
    let hasLocator =
      record >= zip64LocatorSize
      && readUInt32(bytes, record - zip64LocatorSize) == zip64LocatorSignature
    if hasLocator || entryCount == UInt16.max || size == UInt32.max || offset == UInt32.max {
      throw ArchiveError.zip64(archive: path, entry: nil)
    }
    guard diskNumber == 0 && directoryDisk == 0 && entriesOnDisk == entryCount else {
      throw ArchiveError.multipleDisks(archive: path)
    }
    guard Int(offset) + Int(size) <= record else {
      throw ArchiveError.corruptDirectory(
        archive: path,
        reason: "the central directory at offset \(offset) with size \(size) runs past the "
          + "end of central directory record at offset \(record); the archive is truncated "
          + "or corrupt")
    }
    return CentralDirectoryLocation(
      offset: Int(offset), size: Int(size), entryCount: Int(entryCount))
  }

  /// Reads and checks every central directory header.
  private static func readCentralDirectory(
    _ bytes: [UInt8], path: String, directory: CentralDirectoryLocation
  ) throws -> [Entry] {
    let end = directory.offset + directory.size
    var entries: [Entry] = []
    entries.reserveCapacity(directory.entryCount)
    var names = Set<String>()
    var position = directory.offset

    for index in 0..<directory.entryCount {
      guard position + centralHeaderSize <= end,
        readUInt32(bytes, position) == centralHeaderSignature
      else {
        throw ArchiveError.corruptDirectory(
          archive: path,
          reason: "central directory header \(index + 1) of \(directory.entryCount) at offset "
            + "\(position) is missing or has a wrong signature")
      }
      let nameLength = Int(readUInt16(bytes, position + 28))
      let extraLength = Int(readUInt16(bytes, position + 30))
      let commentLength = Int(readUInt16(bytes, position + 32))
      let nameStart = position + centralHeaderSize
      let extraStart = nameStart + nameLength
      let next = extraStart + extraLength + commentLength
      guard next <= end else {
        throw ArchiveError.corruptDirectory(
          archive: path,
          reason: "central directory header \(index + 1) of \(directory.entryCount) at offset "
            + "\(position) runs past the end of the central directory")
      }

      // NOTE: Names are decoded as UTF-8 whether or not flag bit 11 marks them so. Without
      // that bit APPNOTE.TXT specifies code page 437, so a non-ASCII name from such an archive
      // is rejected or read with different characters.
      let nameBytes = bytes[nameStart..<extraStart]
      guard let name = String(validating: nameBytes, as: UTF8.self) else {
        throw ArchiveError.unsafeName(
          archive: path, entry: String(decoding: nameBytes, as: UTF8.self),
          reason: "the name is not valid UTF-8")
      }
      let entry = Entry(
        name: name,
        method: readUInt16(bytes, position + 10),
        crc32: readUInt32(bytes, position + 16),
        compressedSize: Int(readUInt32(bytes, position + 20)),
        uncompressedSize: Int(readUInt32(bytes, position + 24)),
        localHeaderOffset: Int(readUInt32(bytes, position + 42)))
      let flags = readUInt16(bytes, position + 8)
      let diskStart = readUInt16(bytes, position + 34)
      let hasZip64Field = extraFieldIDs(bytes, extraStart..<(extraStart + extraLength))
        .contains(zip64ExtraFieldID)

      try checkEntry(
        entry, path: path, flags: flags, diskStart: diskStart, hasZip64Field: hasZip64Field,
        directoryOffset: directory.offset)
      guard names.insert(name).inserted else {
        throw ArchiveError.duplicateEntry(archive: path, entry: name)
      }
      entries.append(entry)
      position = next
    }
    return entries
  }

  /// Rejects an entry that this reader cannot extract safely.
  private static func checkEntry(
    _ entry: Entry, path: String, flags: UInt16, diskStart: UInt16, hasZip64Field: Bool,
    directoryOffset: Int
  ) throws {
    if hasZip64Field || entry.compressedSize == Int(UInt32.max)
      || entry.uncompressedSize == Int(UInt32.max) || entry.localHeaderOffset == Int(UInt32.max)
    {
      throw ArchiveError.zip64(archive: path, entry: entry.name)
    }
    guard diskStart == 0 else {
      throw ArchiveError.multipleDisks(archive: path)
    }
    if let reason = unsafeNameReason(entry.name) {
      throw ArchiveError.unsafeName(archive: path, entry: entry.name, reason: reason)
    }
    if flags & (flagEncrypted | flagStrongEncryption) != 0 {
      throw ArchiveError.encryptedEntry(archive: path, entry: entry.name)
    }
    guard entry.method == methodStored || entry.method == methodDeflate else {
      throw ArchiveError.unsupportedMethod(archive: path, entry: entry.name, method: entry.method)
    }
    if entry.isDirectory && entry.uncompressedSize != 0 {
      throw ArchiveError.corruptEntry(
        archive: path, entry: entry.name,
        reason: "the directory entry has \(entry.uncompressedSize) bytes of data")
    }
    guard entry.localHeaderOffset + localHeaderSize <= directoryOffset else {
      throw ArchiveError.corruptEntry(
        archive: path, entry: entry.name,
        reason: "the local file header offset \(entry.localHeaderOffset) points past the "
          + "start of the central directory at offset \(directoryOffset)")
    }
  }

  /// Returns why a name cannot be extracted safely, or nil when it can.
  ///
  /// A safe name is a relative path whose components are neither empty, `.` nor `..`, so that
  /// extraction can only create files below the destination directory.
  static func unsafeNameReason(_ name: String) -> String? {
    if name.isEmpty {
      return "the name is empty"
    }
    if name.hasPrefix("/") {
      return "the name is an absolute path"
    }
    if name.contains("\\") {
      return "the name contains a backslash, which some systems read as a path separator"
    }
    if name.utf8.contains(0) {
      return "the name contains a NUL byte"
    }
    var components = name.split(separator: "/", omittingEmptySubsequences: false)
    if name.hasSuffix("/") {
      components.removeLast()
    }
    if components.contains("..") {
      return "the name contains a '..' component, which would escape the destination"
    }
    if components.contains(".") || components.contains("") {
      return "the name contains an empty or '.' component"
    }
    return nil
  }

  /// Returns the header IDs in an extra field, which is a sequence of (ID, size, data) records
  /// (APPNOTE.TXT section 4.5.1). A truncated last record is ignored.
  private static func extraFieldIDs(_ bytes: [UInt8], _ range: Range<Int>) -> [UInt16] {
    var ids: [UInt16] = []
    var position = range.lowerBound
    while position + 4 <= range.upperBound {
      ids.append(readUInt16(bytes, position))
      position += 4 + Int(readUInt16(bytes, position + 2))
    }
    return ids
  }

  /// Reads a little-endian 16-bit integer. The caller checks the bounds.
  static func readUInt16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
    UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
  }

  /// Reads a little-endian 32-bit integer. The caller checks the bounds.
  static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(readUInt16(bytes, offset)) | UInt32(readUInt16(bytes, offset + 2)) << 16
  }
}

// MARK: - Entry data

extension ZipArchive {
  /// Checks an entry's local file header and returns the range of its stored data.
  private func locateData(of entry: Entry) throws -> Range<Int> {
    let header = entry.localHeaderOffset
    guard header + Self.localHeaderSize <= centralDirectoryOffset,
      Self.readUInt32(bytes, header) == Self.localHeaderSignature
    else {
      throw ArchiveError.corruptEntry(
        archive: path, entry: entry.name,
        reason: "no local file header at offset \(header)")
    }

    let flags = Self.readUInt16(bytes, header + 6)
    let method = Self.readUInt16(bytes, header + 8)
    let nameLength = Int(Self.readUInt16(bytes, header + 26))
    let extraLength = Int(Self.readUInt16(bytes, header + 28))
    let nameStart = header + Self.localHeaderSize
    let dataStart = nameStart + nameLength + extraLength
    let dataEnd = dataStart + entry.compressedSize

    if flags & (Self.flagEncrypted | Self.flagStrongEncryption) != 0 {
      throw ArchiveError.encryptedEntry(archive: path, entry: entry.name)
    }
    guard dataEnd <= centralDirectoryOffset else {
      throw ArchiveError.corruptEntry(
        archive: path, entry: entry.name,
        reason: "the \(entry.compressedSize) bytes of data at offset \(dataStart) run past "
          + "the start of the central directory at offset \(centralDirectoryOffset); "
          + "the archive is truncated or corrupt")
    }
    let localName = String(decoding: bytes[nameStart..<(nameStart + nameLength)], as: UTF8.self)
    guard localName == entry.name else {
      throw ArchiveError.corruptEntry(
        archive: path, entry: entry.name,
        reason: "the local file header names '\(excerpt(localName))' instead")
    }
    guard method == entry.method else {
      throw ArchiveError.corruptEntry(
        archive: path, entry: entry.name,
        reason: "the local file header gives compression method \(method) but the central "
          + "directory gives \(entry.method)")
    }
    return dataStart..<dataEnd
  }

  /// Inflates a raw deflate stream (no zlib or gzip wrapper) with zlib's `inflate`.
  private func inflate(_ entry: Entry, dataRange: Range<Int>) throws -> [UInt8] {
    var stream = z_stream()
    // Negative window bits select a raw deflate stream with a 32 KiB window.
    let initStatus = stackrec_inflate_init2(&stream, -15)
    guard initStatus == Z_OK else {
      throw zlibError(entry, operation: "inflateInit2", status: initStatus, stream: stream)
    }
    defer { inflateEnd(&stream) }

    // One spare byte distinguishes a stream that inflates to more than the declared size from
    // one that fits exactly, and keeps the output pointer non-null for empty entries.
    var output = [UInt8](repeating: 0, count: entry.uncompressedSize + 1)
    let status = bytes.withUnsafeBytes { input in
      output.withUnsafeMutableBytes { out in
        // zlib does not write through next_in; the cast only satisfies its C signature.
        stream.next_in = UnsafeMutablePointer(
          mutating: input.baseAddress!.advanced(by: dataRange.lowerBound)
            .assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(dataRange.count)
        stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(out.count)
        return CZlib.inflate(&stream, Z_FINISH)
      }
    }

    if status == Z_STREAM_END {
      output.removeLast(output.count - Int(stream.total_out))
      return output
    }
    guard status == Z_OK || status == Z_BUF_ERROR else {
      throw zlibError(entry, operation: "inflate", status: status, stream: stream)
    }

    // Z_FINISH stops short of the end of the stream only when it runs out of room or input.
    if stream.avail_out == 0 {
      throw ArchiveError.corruptEntry(
        archive: path, entry: entry.name,
        reason: "the data inflates to more than the declared \(entry.uncompressedSize) bytes")
    }
    throw ArchiveError.corruptEntry(
      archive: path, entry: entry.name,
      reason: "the deflate stream ends early: \(entry.compressedSize) compressed bytes "
        + "inflate to only \(stream.total_out) bytes; the archive is truncated or corrupt")
  }

  /// Turns a failed zlib call into an error with zlib's own message when it gave one.
  private func zlibError(
    _ entry: Entry, operation: String, status: Int32, stream: z_stream
  ) -> ArchiveError {
    let message = stream.msg.map { String(cString: $0) } ?? String(cString: zError(status))
    return ArchiveError.zlibFailed(
      archive: path, entry: entry.name, operation: operation, status: status, message: message)
  }
}

// MARK: - Writing files

extension ZipArchive {
  /// Creates `directory` and its missing ancestors and returns those created, outermost first.
  private func createDirectories(_ directory: String) throws -> [String] {
    var missing: [String] = []
    var current = directory
    while !current.isEmpty && !FileManager.default.fileExists(atPath: current) {
      missing.append(current)
      let parent = (current as NSString).deletingLastPathComponent
      if parent == current { break }
      current = parent
    }

    var created: [String] = []
    for path in missing.reversed() {
      if Glibc.mkdir(path, 0o755) == 0 {
        created.append(path)
      } else if errno != EEXIST {
        let reason = String(cString: strerror(errno))
        for done in created.reversed() {
          _ = Glibc.rmdir(done)
        }
        throw ArchiveError.fileSystemFailed(
          archive: self.path, path: path, operation: "create the directory", reason: reason)
      }
    }

    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
      isDirectory.boolValue
    else {
      throw ArchiveError.fileSystemFailed(
        archive: path, path: directory, operation: "extract into the directory",
        reason: "it is not a directory")
    }
    return created
  }

  /// Creates a uniquely named hidden directory inside `directory`, on the same file system
  /// so that the extracted items can be renamed into place.
  private func makeStagingDirectory(in directory: String) throws -> String {
    var template = Array((directory + "/.zip-extract-XXXXXX").utf8CString)
    // mkdtemp replaces the six X characters in place and returns its argument.
    let created = template.withUnsafeMutableBufferPointer { buffer in
      mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
    }
    guard let created else {
      throw ArchiveError.fileSystemFailed(
        archive: path, path: directory, operation: "create a temporary directory in",
        reason: String(cString: strerror(errno)))
    }
    return created
  }

  /// Extracts one entry below `root`, creating the directories on its path.
  private func writeEntry(_ entry: Entry, under root: String) throws {
    var components = entry.name.split(separator: "/").map(String.init)
    let fileName = entry.isDirectory ? nil : components.removeLast()

    var directory = root
    for component in components {
      directory += "/" + component
      if Glibc.mkdir(directory, 0o755) != 0 && errno != EEXIST {
        throw ArchiveError.fileSystemFailed(
          archive: path, path: directory, operation: "create the directory",
          reason: String(cString: strerror(errno)))
      }
    }
    guard let fileName else { return }

    let data = try extract(entry)
    try writeFile(data, to: directory + "/" + fileName)
  }

  /// Writes a new file, failing if one already exists at `target`.
  private func writeFile(_ data: [UInt8], to target: String) throws {
    let descriptor = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw ArchiveError.fileSystemFailed(
        archive: path, path: target, operation: "create the file",
        reason: String(cString: strerror(errno)))
    }

    var offset = 0
    while offset < data.count {
      let written = data.withUnsafeBytes { buffer in
        Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
      }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else {
        let reason = String(cString: strerror(errno))
        _ = Glibc.close(descriptor)
        throw ArchiveError.fileSystemFailed(
          archive: path, path: target, operation: "write the file", reason: reason)
      }
      offset += written
    }

    guard Glibc.close(descriptor) == 0 else {
      throw ArchiveError.fileSystemFailed(
        archive: path, path: target, operation: "write the file",
        reason: String(cString: strerror(errno)))
    }
  }

  /// Renames every top-level item from `staging` into `directory`.
  ///
  /// All targets are checked before the first rename. If a rename still fails, the items
  /// already moved go back into `staging`, which the caller then removes.
  private func moveTopLevelItems(from staging: String, to directory: String) throws {
    var topLevelNames: [String] = []
    for entry in entries {
      let first = String(entry.name.prefix { $0 != "/" })
      if !topLevelNames.contains(first) {
        topLevelNames.append(first)
      }
    }

    for name in topLevelNames {
      try checkTarget(directory + "/" + name, replacing: staging + "/" + name)
    }

    var moved: [String] = []
    for name in topLevelNames {
      let target = directory + "/" + name
      if Glibc.rename(staging + "/" + name, target) != 0 {
        let reason = String(cString: strerror(errno))
        for done in moved.reversed() {
          _ = Glibc.rename(directory + "/" + done, staging + "/" + done)
        }
        throw ArchiveError.fileSystemFailed(
          archive: path, path: target, operation: "move the extracted item to",
          reason: reason)
      }
      moved.append(name)
    }
  }

  /// Rejects a target that a rename would fail on or that contains someone's data. That is a
  /// directory that is not empty, or an item whose kind (file or directory) differs from the
  /// new one.
  private func checkTarget(_ target: String, replacing source: String) throws {
    let manager = FileManager.default
    var targetIsDirectory: ObjCBool = false
    guard manager.fileExists(atPath: target, isDirectory: &targetIsDirectory) else { return }
    var sourceIsDirectory: ObjCBool = false
    _ = manager.fileExists(atPath: source, isDirectory: &sourceIsDirectory)

    let targetIsEmptyDirectory =
      targetIsDirectory.boolValue
      && ((try? manager.contentsOfDirectory(atPath: target).isEmpty) ?? false)
    let replaceable =
      sourceIsDirectory.boolValue ? targetIsEmptyDirectory : !targetIsDirectory.boolValue
    guard replaceable else {
      throw ArchiveError.destinationExists(archive: path, path: target)
    }
  }
}

// MARK: - Errors

/// A reason why an archive cannot be read or extracted, naming the archive and, where one is
/// involved, the entry.
public enum ArchiveError: Error, CustomStringConvertible, Equatable {
  case endOfCentralDirectoryNotFound(archive: String)
  case multipleDisks(archive: String)
  case zip64(archive: String, entry: String?)
  case corruptDirectory(archive: String, reason: String)
  case corruptEntry(archive: String, entry: String, reason: String)
  case encryptedEntry(archive: String, entry: String)
  case unsupportedMethod(archive: String, entry: String, method: UInt16)
  case unsafeName(archive: String, entry: String, reason: String)
  case duplicateEntry(archive: String, entry: String)
  case checksumMismatch(archive: String, entry: String, expected: UInt32, actual: UInt32)
  case sizeMismatch(archive: String, entry: String, expected: Int, actual: Int)
  case zlibFailed(archive: String, entry: String, operation: String, status: Int32, message: String)
  case fileSystemFailed(archive: String, path: String, operation: String, reason: String)
  case destinationExists(archive: String, path: String)

  public var description: String {
    switch self {
    case .endOfCentralDirectoryNotFound(let archive):
      return
        "\(archive): end of central directory record not found; the file is truncated or "
        + "not a zip archive"
    case .multipleDisks(let archive):
      return "\(archive): the archive spans several disks, which is not supported"
    case .zip64(let archive, nil):
      return "\(archive): ZIP64 archives are not supported"
    case .zip64(let archive, let entry?):
      return "\(archive): entry '\(excerpt(entry))': ZIP64 entries are not supported"
    case .corruptDirectory(let archive, let reason):
      return "\(archive): invalid central directory: \(reason)"
    case .corruptEntry(let archive, let entry, let reason):
      return "\(archive): entry '\(excerpt(entry))': \(reason)"
    case .encryptedEntry(let archive, let entry):
      return "\(archive): entry '\(excerpt(entry))': encrypted entries are not supported"
    case .unsupportedMethod(let archive, let entry, let method):
      return
        "\(archive): entry '\(excerpt(entry))': compression method \(method)"
        + "\(Self.methodName(method)) is not supported; only 0 (stored) and 8 (deflate) are"
    case .unsafeName(let archive, let entry, let reason):
      return "\(archive): entry '\(excerpt(entry))': unsafe name: \(reason)"
    case .duplicateEntry(let archive, let entry):
      return "\(archive): entry '\(excerpt(entry))' appears more than once"
    case .checksumMismatch(let archive, let entry, let expected, let actual):
      return
        "\(archive): entry '\(excerpt(entry))': CRC-32 mismatch: expected "
        + "\(Self.hex(expected)), computed \(Self.hex(actual)); the archive is corrupt"
    case .sizeMismatch(let archive, let entry, let expected, let actual):
      return
        "\(archive): entry '\(excerpt(entry))': expected \(expected) uncompressed bytes, "
        + "extracted \(actual); the archive is corrupt"
    case .zlibFailed(let archive, let entry, let operation, let status, let message):
      return
        "\(archive): entry '\(excerpt(entry))': zlib \(operation) failed (\(status)): \(message)"
    case .fileSystemFailed(let archive, let path, let operation, let reason):
      return "\(archive): cannot \(operation) \(path): \(reason)"
    case .destinationExists(let archive, let path):
      return
        "\(archive): cannot extract to \(path) because it already exists; remove it or "
        + "extract somewhere else"
    }
  }

  private static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
  }

  /// Names the compression methods listed in APPNOTE.TXT section 4.4.5 that archives use.
  private static func methodName(_ method: UInt16) -> String {
    switch method {
    case 1: " (shrink)"
    case 6: " (implode)"
    case 9: " (Deflate64)"
    case 12: " (bzip2)"
    case 14: " (LZMA)"
    case 93: " (Zstandard)"
    case 95: " (xz)"
    case 99: " (AES encryption)"
    default: ""
    }
  }
}
