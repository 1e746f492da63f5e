/// An accepted socket with its handler, its unconsumed input and its unsent output.
///
/// Used only on the thread of the event loop that owns it. The connection keeps the
/// server-wide count of buffered output bytes up to date as output is added, sent or
/// dropped.
final class Connection {
  /// How far the connection still reads and processes input.
  enum InputState: Equatable {
    /// Reading and processing as usual.
    case open

    /// The peer shut down its sending side. Input already received is still processed
    /// and its responses sent, but nothing more is read.
    case peerFinished

    /// Nothing more is read or processed, for the reason given; the connection closes
    /// once its output is sent.
    case finished(reason: String)
  }

  /// The reason `processInput` returned.
  enum ProcessingResult: Equatable {
    /// The handler needs more bytes to complete the next request, or no input is left.
    case needsInput

    /// Unsent output reached the limit; the remaining input waits.
    case outputFull

    /// The input is finished, by the handler or earlier.
    case finished
  }

  /// The maximum length of input passed to one `ConnectionHandler.process` call, unless a
  /// single request is longer. Short slices bound the output that one call can add, so a
  /// connection's unsent output stays near `maxPendingOutput`.
  static let inputSliceLength = 4096

  /// Buffers larger than this are freed, not kept for reuse, once empty.
  private static let retainedCapacity = 64 * 1024

  let socket: Int32
  let info: ConnectionInfo
  private let handler: any ConnectionHandler
  private let state: ServerState

  /// Received bytes; the handler has consumed those before `inputStart`.
  private var input: [UInt8] = []
  private var inputStart = 0

  /// Responses; the kernel has accepted those before `outputStart`.
  private var output: [UInt8] = []
  private var outputStart = 0

  private(set) var inputState = InputState.open

  /// True from the moment unsent output reaches `maxPendingOutput` until it falls to half of
  /// that; reading and processing pause meanwhile.
  var isOutputBackedUp = false

  /// The last time bytes were received or sent.
  var lastActivity: ContinuousClock.Instant

  /// Since when the handler has left input unconsumed while waiting for the rest of a
  /// request, or nil when it is not waiting.
  private(set) var partialRequestSince: ContinuousClock.Instant?

  /// The epoll events the socket is registered for.
  var registeredEvents: UInt32

  init(
    socket: Int32, info: ConnectionInfo, handler: any ConnectionHandler, state: ServerState,
    registeredEvents: UInt32, now: ContinuousClock.Instant
  ) {
    self.socket = socket
    self.info = info
    self.handler = handler
    self.state = state
    self.registeredEvents = registeredEvents
    self.lastActivity = now
  }

  var pendingInputCount: Int { input.count - inputStart }

  var pendingOutputCount: Int { output.count - outputStart }

  func appendInput(_ bytes: UnsafeRawBufferPointer) {
    input.append(contentsOf: bytes)
  }

  /// Records that the peer sent end of input, unless the input is already finished.
  func markPeerFinished() {
    if inputState == .open { inputState = .peerFinished }
  }

  /// Stops reading and processing, and drops the unconsumed input.
  func finishInput(reason: String) {
    if case .finished = inputState { return }
    inputState = .finished(reason: reason)
    input = []
    inputStart = 0
  }

  /// Passes unconsumed input to the handler, one slice at a time, and keeps what it leaves.
  ///
  /// Stops when the handler consumes nothing from all the remaining input, when unsent
  /// output reaches `outputLimit`, or when the handler requests a close.
  ///
  /// Records in `partialRequestSince` when the handler began waiting for the rest of a
  /// request. Any consumed input restarts that wait.
  func processInput(outputLimit: Int, now: ContinuousClock.Instant) -> ProcessingResult {
    guard inputState == .open || inputState == .peerFinished else {
      partialRequestSince = nil
      return .finished
    }
    let outputBefore = output.count
    var result = ProcessingResult.finished
    defer {
      recordOutputGrowth(output.count - outputBefore)
      compactInput()
      if result == .needsInput && pendingInputCount > 0 {
        if partialRequestSince == nil { partialRequestSince = now }
      } else {
        partialRequestSince = nil
      }
    }

    var sliceLength = Self.inputSliceLength
    while true {
      let available = input.count - inputStart
      if available == 0 {
        result = .needsInput
        return result
      }
      if output.count - outputStart >= outputLimit {
        result = .outputFull
        return result
      }

      let start = inputStart
      let length = min(available, sliceLength)
      let (consumed, close) = input.withUnsafeBytes { bytes in
        handler.process(
          UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]), into: &output)
      }
      precondition(
        (0...length).contains(consumed),
        "ConnectionHandler.process consumed \(consumed) bytes of \(length)")
      inputStart += consumed

      if close {
        finishInput(reason: "closed by handler")
        return result
      }
      if consumed > 0 {
        sliceLength = Self.inputSliceLength
        partialRequestSince = nil
      } else if length == available {
        result = .needsInput
        return result
      } else {
        // A request longer than the slice: offer more of the input.
        sliceLength *= 2
      }
    }
  }

  /// Appends the handler's response for input over `limit` bytes, drops the input and
  /// finishes it.
  func rejectOverlongInput(limit: Int) {
    let outputBefore = output.count
    handler.inputLimitExceeded(limit: limit, into: &output)
    recordOutputGrowth(output.count - outputBefore)
    finishInput(reason: "input limit exceeded")
  }

  /// Appends the handler's response for a request left incomplete for `timeout`, drops the
  /// input and finishes it.
  func rejectIncompleteRequest(after timeout: Duration) {
    let outputBefore = output.count
    handler.requestTimedOut(after: timeout, into: &output)
    recordOutputGrowth(output.count - outputBefore)
    finishInput(reason: "request timeout")
  }

  /// Sends unsent output until the kernel's send buffer is full or nothing is left.
  ///
  /// - Returns: the number of bytes the kernel accepted.
  /// - Throws: `SystemCallError` from `send`, such as `EPIPE` or `ECONNRESET` after the peer
  ///   went away. The bytes sent before the failure are still accounted for.
  func flushOutput() throws(SystemCallError) -> Int {
    var sent = 0
    defer {
      state.bufferedOutputBytes.subtract(sent, ordering: .relaxed)
      compactOutput()
    }
    while outputStart < output.count {
      let start = outputStart
      let result = output.withUnsafeBytes { bytes in
        Result { () throws(SystemCallError) in
          try SystemCall.send(socket, from: UnsafeRawBufferPointer(rebasing: bytes[start...]))
        }
      }
      guard case .transferred(let count) = try result.get() else { break }
      outputStart += count
      sent += count
    }
    return sent
  }

  /// Drops both buffers and removes the unsent bytes from the server-wide count.
  func releaseBuffers() {
    state.bufferedOutputBytes.subtract(pendingOutputCount, ordering: .relaxed)
    input = []
    inputStart = 0
    output = []
    outputStart = 0
  }

  private func recordOutputGrowth(_ added: Int) {
    guard added > 0 else { return }
    state.bufferedOutputBytes.add(added, ordering: .relaxed)
    state.recordConnectionOutput(pendingOutputCount)
  }

  /// Moves unconsumed input to the front once the consumed part is at least half the buffer,
  /// so each byte is moved a bounded number of times.
  private func compactInput() {
    if inputStart == input.count {
      if input.capacity > Self.retainedCapacity {
        input = []
      } else {
        input.removeAll(keepingCapacity: true)
      }
      inputStart = 0
    } else if inputStart >= Self.inputSliceLength && inputStart * 2 >= input.count {
      input.removeFirst(inputStart)
      inputStart = 0
    }
  }

  private func compactOutput() {
    if outputStart == output.count {
      if output.capacity > Self.retainedCapacity {
        output = []
      } else {
        output.removeAll(keepingCapacity: true)
      }
      outputStart = 0
    } else if outputStart >= Self.retainedCapacity && outputStart * 2 >= output.count {
      output.removeFirst(outputStart)
      outputStart = 0
    }
  }
}
