import Foundation
import Synchronization

/// A logger that writes one line per event to standard error.
///
/// Each line reads `2026-12-04T15:50:53.123Z info precompute: message key=value`,
/// with the metadata keys sorted. A process-wide lock keeps lines from
/// different threads whole. The level names follow swift-log: routine
/// successes go below `info`, and `--quiet` raises the threshold to `warning`.
public struct Logger: Sendable {
  public enum Level: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    public static func < (lhs: Level, rhs: Level) -> Bool {
      lhs.rawValue < rhs.rawValue
    }

    var name: String {
      switch self {
      case .trace: "trace"
      case .debug: "debug"
      case .info: "info"
      case .notice: "notice"
      case .warning: "warning"
      case .error: "error"
      case .critical: "critical"
      }
    }
  }

  /// The subsystem that appears on every line, such as `precompute`.
  public let label: String

  /// Events below this level are dropped.
  public var threshold: Level

  public init(label: String, threshold: Level = .info) {
    self.label = label
    self.threshold = threshold
  }

  public func log(
    _ level: Level, _ message: @autoclosure () -> String,
    _ metadata: [String: any CustomStringConvertible] = [:]
  ) {
    guard level >= threshold else { return }
    var line = "\(Self.timestamp()) \(level.name) \(label): \(message())"
    for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
      line += " \(key)=\(value)"
    }
    line += "\n"
    LogSink.shared.write(line)
  }

  public func debug(
    _ message: @autoclosure () -> String,
    _ metadata: [String: any CustomStringConvertible] = [:]
  ) {
    log(.debug, message(), metadata)
  }

  public func info(
    _ message: @autoclosure () -> String,
    _ metadata: [String: any CustomStringConvertible] = [:]
  ) {
    log(.info, message(), metadata)
  }

  public func warning(
    _ message: @autoclosure () -> String,
    _ metadata: [String: any CustomStringConvertible] = [:]
  ) {
    log(.warning, message(), metadata)
  }

  public func error(
    _ message: @autoclosure () -> String,
    _ metadata: [String: any CustomStringConvertible] = [:]
  ) {
    log(.error, message(), metadata)
  }

  /// Formats the current UTC time as ISO 8601 with milliseconds.
  public static func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let millis = Int(now.tv_nsec / 1_000_000)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
  }
}

/// The destination of every log line: standard error, behind one lock.
final class LogSink: Sendable {
  static let shared = LogSink()

  private let lock = Mutex(())

  func write(_ line: String) {
    lock.withLock { _ in
      var bytes = Array(line.utf8)
      var offset = 0
      while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { buffer in
          Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
        }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return }
        offset += written
      }
      bytes.removeAll()
    }
  }
}
