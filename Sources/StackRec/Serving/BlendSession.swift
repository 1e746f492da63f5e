import Glibc

/// One client's conversation with the blender: finds requests in the incoming bytes and
/// appends one reply per request.
///
/// Each request is either a text line or a RESP array of bulk strings, told apart by its
/// first byte: `*` starts RESP, and anything else a line. A reply uses the format of its
/// request, so one connection may mix the two.
///
/// Lines end with LF; a CR before it is dropped, and a blank line is not a request. A line
/// longer than `Blender.Limits.maxLineLength` gets one `ERR line too long` reply and is
/// discarded up to its line break, and the session carries on. A malformed RESP request
/// gets one `-ERR protocol error` reply and ends the session, because the start of the
/// next request can no longer be found. Used from one thread at a time.
public final class BlendSession: ConnectionHandler {
  private let blender: Blender
  private let allowsAdministration: Bool
  /// The connection's id for log lines, or nil for standard input.
  private let connectionID: UInt64?
  /// The store this session reads scores from, held only during `process` and
  /// `finish` so that an idle connection never keeps a replaced store in
  /// memory.
  private var snapshot: StoreSnapshot?
  private var generation = -1
  /// True while the rest of an over-long line is being skipped.
  private var discarding = false
  private var decoder: RESPRequestDecoder
  /// True when the input ended inside a RESP request at the last call.
  private var awaitingRESP = false

  /// - Parameters:
  ///   - allowsAdministration: whether RELOAD is permitted.
  ///   - connectionID: the TCP connection's id for log lines, or nil for standard input.
  public init(blender: Blender, allowsAdministration: Bool, connectionID: UInt64? = nil) {
    self.blender = blender
    self.allowsAdministration = allowsAdministration
    self.connectionID = connectionID
    decoder = RESPRequestDecoder(
      maxArguments: blender.parser.maxArguments, maxLength: blender.limits.maxLineLength)
    blender.openConnections.add(1, ordering: .relaxed)
  }

  deinit {
    blender.openConnections.subtract(1, ordering: .relaxed)
  }

  /// Consumes the complete requests at the front of `input` and appends their replies to
  /// `output`.
  ///
  /// - Returns: how many bytes were consumed (the caller keeps the rest for the next call),
  ///   and whether the session is over: the client sent QUIT or malformed RESP.
  public func process(_ input: UnsafeRawBufferPointer, into output: inout [UInt8])
    -> (consumed: Int, close: Bool)
  {
    defer { snapshot = nil }
    var consumed = 0
    var close = false
    awaitingRESP = false
    let maxLength = blender.limits.maxLineLength
    while consumed < input.count && !close {
      let remaining = input.count - consumed
      let start = input.baseAddress! + consumed
      if !discarding && start.load(as: UInt8.self) == UInt8(ascii: "*") {
        let request = UnsafeRawBufferPointer(start: start, count: remaining)
        switch decoder.decode(request) {
        case .request(let length):
          consumed += length
          close = handleRESP(request, &output)
        case .incomplete:
          awaitingRESP = true
          return (consumed, false)
        case .malformed(let error):
          reject(error, .resp, &output)
          blender.logProtocolError(error, connectionID: connectionID)
          return (input.count, true)
        }
        continue
      }
      guard let newline = memchr(start, 0x0A, remaining) else {
        if discarding {
          consumed = input.count
        } else if remaining > maxLength + 1 {
          // The byte past the limit may be the CR of a CRLF whose LF has not
          // arrived yet, and the limit does not count the line break.
          reject(.lineTooLong(maximum: maxLength), .text, &output)
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
        reject(.lineTooLong(maximum: maxLength), .text, &output)
        continue
      }
      close = handleLine(UnsafeRawBufferPointer(start: start, count: length), &output)
    }
    return (consumed, close)
  }

  /// Handles the input left at the end of the input stream. A last line without a line
  /// break gets its reply, and a RESP request that `process` left incomplete gets a
  /// protocol error.
  public func finish(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) {
    guard !input.isEmpty, !discarding else { return }
    defer { snapshot = nil }
    if input[0] == UInt8(ascii: "*") {
      switch decoder.decode(input) {
      case .request:
        _ = handleRESP(input, &output)
      case .incomplete:
        decoder.reset()
        let error = RequestError.protocolError("incomplete request at the end of the input")
        reject(error, .resp, &output)
        blender.logProtocolError(error, connectionID: connectionID)
      case .malformed(let error):
        reject(error, .resp, &output)
        blender.logProtocolError(error, connectionID: connectionID)
      }
      return
    }
    var length = input.count
    if input[length - 1] == 0x0D { length -= 1 }
    guard length <= blender.limits.maxLineLength else {
      reject(.lineTooLong(maximum: blender.limits.maxLineLength), .text, &output)
      return
    }
    _ = handleLine(UnsafeRawBufferPointer(rebasing: input[0..<length]), &output)
  }

  /// Appends `request too long (limit N bytes); closing connection` as an error, in RESP
  /// when the unconsumed input is an incomplete RESP request.
  public func inputLimitExceeded(limit: Int, into output: inout [UInt8]) {
    let message = "request too long (limit \(limit) bytes); closing connection"
    append(.error(message), awaitingRESP ? .resp : .text, &output)
    decoder.reset()
  }

  /// Appends `request incomplete after N s; closing connection` as an error, in RESP when
  /// the unconsumed input is an incomplete RESP request.
  public func requestTimedOut(after timeout: Duration, into output: inout [UInt8]) {
    append(.error(incompleteRequestMessage(after: timeout)), awaitingRESP ? .resp : .text, &output)
    decoder.reset()
  }

  /// Returns the blender's current store, fetching it again only after a reload.
  private func currentSnapshot() -> StoreSnapshot {
    if let snapshot, blender.generation.load(ordering: .acquiring) == generation {
      return snapshot
    }
    let (latest, latestGeneration) = blender.snapshot()
    (snapshot, generation) = (latest, latestGeneration)
    return latest
  }

  /// Parses one text line and appends its reply.
  ///
  /// - Returns: true when the client asked to close.
  private func handleLine(_ line: UnsafeRawBufferPointer, _ output: inout [UInt8]) -> Bool {
    let request: Request
    do {
      guard let parsed = try blender.parser.parse(line) else { return false }
      request = parsed
    } catch {
      reject(error, .text, &output)
      return false
    }
    return respond(to: request, .text, &output)
  }

  /// Parses the RESP request that the decoder just found at the front of `input` and
  /// appends its reply.
  ///
  /// - Returns: true when the client asked to close.
  private func handleRESP(_ input: UnsafeRawBufferPointer, _ output: inout [UInt8]) -> Bool {
    let request: Request
    do {
      guard
        let parsed = try blender.parser.parse(
          words: decoder.arguments, in: input, format: .resp)
      else { return false }
      request = parsed
    } catch {
      reject(error, .resp, &output)
      return false
    }
    return respond(to: request, .resp, &output)
  }

  /// Appends the reply to a parsed request.
  ///
  /// - Returns: true when the client asked to close.
  private func respond(
    to request: Request, _ format: RequestParser.Format, _ output: inout [UInt8]
  ) -> Bool {
    blender.requestCount.add(1, ordering: .relaxed)
    if request.isAdministrative && !allowsAdministration {
      blender.errorCount.add(1, ordering: .relaxed)
      append(.error(RequestError.notPermitted(command: "RELOAD").description), format, &output)
      return false
    }
    let reply = blender.answer(request, from: currentSnapshot())
    if case .error = reply { blender.errorCount.add(1, ordering: .relaxed) }
    append(reply, format, &output)
    return request == .quit
  }

  /// Replies with an error for a request that could not be parsed.
  private func reject(
    _ error: RequestError, _ format: RequestParser.Format, _ output: inout [UInt8]
  ) {
    blender.requestCount.add(1, ordering: .relaxed)
    blender.errorCount.add(1, ordering: .relaxed)
    append(.error(error.description), format, &output)
  }

  @inline(__always)
  private func append(_ reply: Reply, _ format: RequestParser.Format, _ output: inout [UInt8]) {
    switch format {
    case .text: TextReplyEncoder.append(reply, to: &output)
    case .resp: RESPReplyEncoder.append(reply, to: &output)
    }
  }
}
