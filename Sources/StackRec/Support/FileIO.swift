import Glibc

/// Reads a whole file into memory with POSIX `open` and `read`.
///
/// - Throws: `DataError.fileNotFound` when nothing exists at `path`, and
///   `DataError.unreadableFile` with the system's reason otherwise.
func readFileBytes(_ path: String) throws -> [UInt8] {
  let descriptor = open(path, O_RDONLY | O_CLOEXEC)
  guard descriptor >= 0 else {
    let code = errno
    if code == ENOENT { throw DataError.fileNotFound(path: path) }
    throw DataError.unreadableFile(path: path, reason: String(cString: strerror(code)))
  }
  defer { close(descriptor) }

  var status = stat()
  guard fstat(descriptor, &status) == 0 else {
    throw DataError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
  }
  if (status.st_mode & S_IFMT) == S_IFDIR {
    throw DataError.unreadableFile(path: path, reason: "it is a directory, not a file")
  }

  var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
  var filled = 0
  while true {
    if filled == bytes.count {
      // The file may have grown since fstat; keep reading until EOF.
      bytes.append(contentsOf: [UInt8](repeating: 0, count: max(4096, bytes.count / 2)))
    }
    let count = bytes.withUnsafeMutableBytes { buffer in
      read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
    }
    if count < 0 {
      if errno == EINTR { continue }
      throw DataError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
    }
    if count == 0 { break }
    filled += count
  }
  bytes.removeLast(bytes.count - filled)
  return bytes
}

/// Returns whether a regular file or directory exists at `path`.
func fileExists(_ path: String) -> Bool {
  var status = stat()
  return stat(path, &status) == 0
}

/// Returns whether a directory exists at `path`.
func directoryExists(_ path: String) -> Bool {
  var status = stat()
  return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
}
