/// Limits how often one log message is written, so that a burst of connection resets or
/// rejected clients cannot flood the log.
///
/// The first event with a given message is logged with its metadata and opens a window.
/// Later events with the same message inside the window are only counted. When the window
/// ends, one line reports the count, such as `closing connection: recv failed: ... (12 more
/// within 10.000s)`. Keep
/// varying values such as connection ids in the metadata, not in the message.
///
/// Not thread-safe: each event loop owns one.
struct LogRepeatLimiter {
  private struct Window {
    var level: Logger.Level
    var end: ContinuousClock.Instant
    var repeats: Int
  }

  let logger: Logger
  let window: Duration
  private var windows: [String: Window] = [:]

  /// The earliest end of an open window with repeats to report, or nil when there is none.
  private(set) var nextReport: ContinuousClock.Instant?

  init(logger: Logger, window: Duration = .seconds(10)) {
    self.logger = logger
    self.window = window
  }

  /// Logs `message` unless it was logged less than `window` ago, in which case it is counted.
  mutating func log(
    _ level: Logger.Level, _ message: String,
    _ metadata: [String: any CustomStringConvertible], now: ContinuousClock.Instant
  ) {
    guard level >= logger.threshold else { return }
    if var open = windows[message], now < open.end {
      open.repeats += 1
      windows[message] = open
      nextReport = min(nextReport ?? open.end, open.end)
      return
    }
    reportRepeats(now: now)
    logger.log(level, message, metadata)
    windows[message] = Window(level: level, end: now + window, repeats: 0)
  }

  /// Writes the count of each ended window that had repeats, and removes ended windows.
  mutating func reportRepeats(now: ContinuousClock.Instant) {
    guard !windows.isEmpty else { return }
    nextReport = nil
    for (message, open) in windows {
      if open.end <= now {
        if open.repeats > 0 { report(message, open) }
        windows[message] = nil
      } else if open.repeats > 0 {
        nextReport = min(nextReport ?? open.end, open.end)
      }
    }
  }

  /// Writes the count of every window that had repeats, ended or not, and removes them all.
  mutating func reportAllRepeats() {
    for (message, open) in windows where open.repeats > 0 {
      report(message, open)
    }
    windows.removeAll()
    nextReport = nil
  }

  private func report(_ message: String, _ open: Window) {
    let window = formatSeconds(window.inSeconds)
    logger.log(open.level, "\(message) (\(open.repeats) more within \(window))")
  }
}
