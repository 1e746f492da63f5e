import Glibc

/// A failure to write an output file.
public enum OutputError: Error, CustomStringConvertible, Equatable {
  case cannotCreateDirectory(path: String, reason: String)
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .cannotCreateDirectory(let path, let reason):
      return "\(path): cannot create the directory: \(reason); check the path and its permissions"
    case .cannotWrite(let path, let reason):
      return "\(path): cannot write the file: \(reason); the previous file, if any, is unchanged"
    }
  }
}

/// Creates `path` and any missing parent directories.
public func createDirectories(_ path: String) throws {
  var current = path.hasPrefix("/") ? "/" : ""
  for component in path.split(separator: "/") {
    current += component + "/"
    if mkdir(current, 0o755) != 0 && errno != EEXIST {
      throw OutputError.cannotCreateDirectory(path: path, reason: String(cString: strerror(errno)))
    }
  }
  guard directoryExists(path) else {
    throw OutputError.cannotCreateDirectory(path: path, reason: "a file is in the way")
  }
}

/// The directory part of `path`, or "." when it has none.
public func parentDirectory(of path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return "." }
  if slash == path.startIndex { return "/" }
  return String(path[..<slash])
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// complete new one: the bytes go to a temporary file in the same
/// directory, which is flushed with `fsync` and renamed over `path`; then
/// the directory is flushed so the rename survives a crash.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
  let temporary = temporaryPath(for: path)
  TemporaryFiles.add(temporary)
  defer { TemporaryFiles.remove(temporary) }
  let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
  guard descriptor >= 0 else {
    throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
  }
  var failure: Int32 = 0
  var offset = 0
  while offset < bytes.count && failure == 0 {
    let count = bytes.withUnsafeBytes { buffer in
      write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
    }
    if count < 0 {
      if errno != EINTR { failure = errno }
    } else {
      offset += count
    }
  }
  if failure == 0 && fsync(descriptor) != 0 { failure = errno }
  if close(descriptor) != 0 && failure == 0 { failure = errno }
  if failure == 0 && rename(temporary, path) != 0 { failure = errno }
  guard failure == 0 else {
    unlink(temporary)
    throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(failure)))
  }
  syncDirectory(parentDirectory(of: path))
}

/// A fresh temporary file name next to `path`: `PATH.tmp-PID-HEX`.
func temporaryPath(for path: String) -> String {
  var generator = SeededGenerator(seed: UInt64(Stopwatch.nanoseconds()) ^ UInt64(getpid()))
  return "\(path).tmp-\(getpid())-\(String(generator.next() & 0xFFFF_FFFF, radix: 16))"
}

/// Removes the files named like `temporaryPath(for: path)` that writers of
/// `path` left behind when a signal or a crash stopped them.
///
/// Call it only while holding the lock that every writer of `path` takes,
/// so that no live writer's file can match.
///
/// - Returns: the paths removed.
func removeTemporaryFiles(of path: String) -> [String] {
  let directory = parentDirectory(of: path)
  let fileName = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
  let prefix = fileName + ".tmp-"
  guard let stream = opendir(directory) else { return [] }
  defer { closedir(stream) }

  var removed: [String] = []
  while let entry = readdir(stream) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
      String(cString: bytes.bindMemory(to: CChar.self).baseAddress!)
    }
    guard name.hasPrefix(prefix) else { continue }
    // The rest must be PID-HEX, so that no other file is ever removed.
    let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ ("0"..."9").contains($0) }),
      UInt64(parts[1], radix: 16) != nil
    else { continue }
    let stale = joinPath(directory, name)
    if unlink(stale) == 0 { removed.append(stale) }
  }
  return removed
}

/// Flushes a directory's entries to disk, so a rename inside it is durable.
func syncDirectory(_ path: String) {
  let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
  guard descriptor >= 0 else { return }
  fsync(descriptor)
  close(descriptor)
}
