import Glibc

/// One client's conversation with the blender: finds request lines in the
/// incoming bytes, answers each, and appends one reply line per request.
///
/// Lines end with LF; a CR before it is dropped, and a blank line is not a
/// request. A line longer than `Blender.Limits.maxLineLength` gets one
/// `ERR line too long` reply and is discarded up to its line break, and
/// the session carries on. Used from one thread at a time.
public final class BlendSession: ConnectionHandler {
  private let blender: Blender
  private let allowsAdministration: Bool
  private var snapshot: StoreSnapshot
  private var generation: Int
  /// True while the rest of an over-long line is being skipped.
  private var discarding = false

  /// - Parameter allowsAdministration: whether RELOAD is permitted.
  public init(blender: Blender, allowsAdministration: Bool) {
    self.blender = blender
    self.allowsAdministration = allowsAdministration
    (snapshot, generation) = blender.snapshot()
    blender.openConnections.add(1, ordering: .relaxed)
  }

  deinit {
    blender.openConnections.subtract(1, ordering: .relaxed)
  }

  /// Consumes the complete lines at the front of `input` and appends their
  /// replies to `output`.
  ///
  /// - Returns: how many bytes were consumed (the caller keeps the rest for
  ///   the next call), and whether the client asked to close.
  public func process(_ input: UnsafeRawBufferPointer, into output: inout [UInt8])
    -> (consumed: Int, close: Bool)
  {
    refreshSnapshot()
    var consumed = 0
    var close = false
    let maxLength = blender.limits.maxLineLength
    while consumed < input.count && !close {
      let remaining = input.count - consumed
      let start = input.baseAddress! + consumed
      guard let newline = memchr(start, 0x0A, remaining) else {
        if discarding {
          consumed = input.count
        } else if remaining > maxLength + 1 {
          // The byte past the limit may be the CR of a CRLF whose LF has not
          // arrived yet, and the limit does not count the line break.
          reject(.lineTooLong(maximum: maxLength), &output)
          discarding = true
          consumed = input.count
        }
        break
      }
      let lineLength = UnsafeRawPointer(newline) - UnsafeRawPointer(start)
      consumed += lineLength + 1
      if discarding {
        discarding = false
        continue
      }
      var length = lineLength
      if length > 0 && start.load(fromByteOffset: length - 1, as: UInt8.self) == 0x0D {
        length -= 1
      }
      guard length <= maxLength else {
        reject(.lineTooLong(maximum: maxLength), &output)
        continue
      }
      close = handle(UnsafeRawBufferPointer(start: start, count: length), &output)
    }
    return (consumed, close)
  }

  /// Handles a last line that has no line break, at the end of the input.
  public func finish(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) {
    guard !input.isEmpty, !discarding else { return }
    var length = input.count
    if input[length - 1] == 0x0D { length -= 1 }
    guard length <= blender.limits.maxLineLength else {
      reject(.lineTooLong(maximum: blender.limits.maxLineLength), &output)
      return
    }
    refreshSnapshot()
    _ = handle(UnsafeRawBufferPointer(rebasing: input[0..<length]), &output)
  }

  private func refreshSnapshot() {
    if blender.generation.load(ordering: .acquiring) != generation {
      (snapshot, generation) = blender.snapshot()
    }
  }

  /// Parses and answers one line.
  ///
  /// - Returns: true when the client asked to close.
  private func handle(_ line: UnsafeRawBufferPointer, _ output: inout [UInt8]) -> Bool {
    let request: Request
    do {
      guard let parsed = try blender.parser.parse(line) else { return false }
      request = parsed
    } catch {
      reject(error, &output)
      return false
    }
    blender.requestCount.add(1, ordering: .relaxed)
    if request.isAdministrative && !allowsAdministration {
      blender.errorCount.add(1, ordering: .relaxed)
      append(.error(RequestError.notPermitted(command: "RELOAD").description), &output)
      return false
    }
    let reply = blender.answer(request, from: snapshot)
    if request == .reload { refreshSnapshot() }
    if case .error = reply { blender.errorCount.add(1, ordering: .relaxed) }
    append(reply, &output)
    return request == .quit
  }

  /// Replies with an error for a request that could not be parsed.
  private func reject(_ error: RequestError, _ output: inout [UInt8]) {
    blender.requestCount.add(1, ordering: .relaxed)
    blender.errorCount.add(1, ordering: .relaxed)
    append(.error(error.description), &output)
  }

  @inline(__always)
  private func append(_ reply: Reply, _ output: inout [UInt8]) {
    TextReplyEncoder.append(reply, to: &output)
  }
}
