import Glibc

/// A monotonic clock reading, for timing stages of work.
public struct Stopwatch: Sendable {
  private let start: UInt64

  public init() {
    start = Self.nanoseconds()
  }

  /// Seconds elapsed since the stopwatch was created.
  public var seconds: Double {
    Double(Self.nanoseconds() - start) / 1e9
  }

  /// The elapsed time formatted for a log line, such as `1.234s`.
  public var formatted: String {
    formatSeconds(seconds)
  }

  static func nanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
  }
}

/// Formats a duration in seconds with millisecond resolution, such as `0.042s`.
public func formatSeconds(_ seconds: Double) -> String {
  let millis = Int((seconds * 1000).rounded())
  let whole = millis / 1000
  let fraction = millis % 1000
  let padded = String(fraction).count < 3
    ? String(repeating: "0", count: 3 - String(fraction).count) + String(fraction)
    : String(fraction)
  return "\(whole).\(padded)s"
}
