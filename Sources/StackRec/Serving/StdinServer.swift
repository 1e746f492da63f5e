import Glibc

/// Serves requests read from standard input until end of input or QUIT,
/// writing replies to standard output in large buffered writes.
public enum StdinServer {
  /// Runs the loop.
  ///
  /// - Returns: 0 on success, 1 when a read or write fails (a closed output
  ///   pipe ends the loop quietly with 0).
  public static func run(blender: Blender, input: Int32 = 0, output: Int32 = 1) -> Int32 {
    let session = BlendSession(blender: blender, allowsAdministration: true)
    let chunkSize = 1 << 18
    var pending: [UInt8] = []
    pending.reserveCapacity(chunkSize * 2)
    var replies: [UInt8] = []
    replies.reserveCapacity(chunkSize * 2)
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    var closed = false

    while !closed {
      let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress!, chunkSize) }
      if count < 0 {
        if errno == EINTR { continue }
        blender.logger.error("cannot read standard input", ["error": String(cString: strerror(errno))])
        return 1
      }
      if count == 0 {
        pending.withUnsafeBytes { session.finish($0, into: &replies) }
        break
      }
      pending.append(contentsOf: chunk[0..<count])
      let result = pending.withUnsafeBytes { session.process($0, into: &replies) }
      pending.removeFirst(result.consumed)
      closed = result.close
      if replies.count >= chunkSize {
        if let status = writeAll(replies, to: output, blender: blender) { return status }
        replies.removeAll(keepingCapacity: true)
      }
    }
    return writeAll(replies, to: output, blender: blender) ?? 0
  }

  /// Writes every byte.
  ///
  /// - Returns: nil on success, else the exit status to stop with: 0 when
  ///   the reader closed the pipe, 1 for any other failure.
  private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, blender: Blender) -> Int32? {
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes {
        write(descriptor, $0.baseAddress! + offset, bytes.count - offset)
      }
      if written < 0 {
        if errno == EINTR { continue }
        if errno == EPIPE { return 0 }
        blender.logger.error(
          "cannot write standard output", ["error": String(cString: strerror(errno))])
        return 1
      }
      offset += written
    }
    return nil
  }
}
