import Foundation
import Glibc

/// A program run as a child process, with its wall time, peak memory and
/// exit status.
struct ChildRun {
  var status: Int32
  var seconds: Double
  /// The child's peak resident set size (`ru_maxrss` from `wait4`), in MiB.
  var peakMiB: Double
}

/// Starts programs with `posix_spawn` and waits for them with `wait4`, so
/// each run reports its own peak memory.
enum ChildProcess {
  /// Runs `path` with `arguments`, reading standard input from `input` and
  /// writing standard output and error to the given files.
  static func run(
    _ path: String, _ arguments: [String], input: String = "/dev/null",
    output: String = "/dev/null", error: String = "/dev/null"
  ) throws -> ChildRun {
    let start = Date()
    let pid = try spawn(path, arguments, input: input, output: output, error: error)
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
      guard errno == EINTR else { throw BenchError.failed("wait4 failed for \(path)") }
    }
    let exited = (status & 0x7F) == 0
    return ChildRun(
      status: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F),
      seconds: Date().timeIntervalSince(start), peakMiB: Double(usage.ru_maxrss) / 1024)
  }

  /// Starts `path` without waiting.
  static func spawn(
    _ path: String, _ arguments: [String], input: String = "/dev/null",
    output: String = "/dev/null", error: String = "/dev/null"
  ) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, error, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard status == 0 else {
      throw BenchError.failed("cannot start \(path): \(String(cString: strerror(status)))")
    }
    return pid
  }

  /// Waits for a spawned child and returns its exit status.
  @discardableResult
  static func wait(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
  }

  /// The resident set size of a running process, in MiB (`VmRSS`).
  static func residentMiB(_ pid: pid_t) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
    return kilobytes / 1024
  }
}

/// A benchmark step that could not run.
enum BenchError: Error, CustomStringConvertible {
  case failed(String)

  var description: String {
    switch self {
    case .failed(let message): return message
    }
  }
}

/// The median of `values`; the mean of the middle two for an even count.
func median(_ values: [Double]) -> Double {
  guard !values.isEmpty else { return 0 }
  let sorted = values.sorted()
  let middle = sorted.count / 2
  return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
