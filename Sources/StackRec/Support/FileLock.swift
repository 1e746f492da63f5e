import Glibc

/// An exclusive advisory lock (`flock`) on a lock file, held until
/// `release()` or deinitialisation. The kernel drops it if the process dies,
/// so a crashed writer never leaves a stale lock behind.
public final class FileLock {
  private var descriptor: Int32
  public let path: String

  /// Takes the lock on `path`, creating the file if needed.
  ///
  /// - Parameter wait: block until the lock is free; otherwise fail at once.
  /// - Returns: nil when `wait` is false and another process holds the lock.
  /// - Throws: `OutputError.cannotWrite` when the lock file cannot be opened.
  public init?(path: String, wait: Bool) throws {
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
    while flock(descriptor, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
      if errno == EINTR { continue }
      let code = errno
      close(descriptor)
      if code == EWOULDBLOCK { return nil }
      throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(code)))
    }
    self.descriptor = descriptor
    self.path = path
  }

  public func release() {
    guard descriptor >= 0 else { return }
    flock(descriptor, LOCK_UN)
    close(descriptor)
    descriptor = -1
  }

  deinit {
    release()
  }
}
