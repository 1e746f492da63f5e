import Glibc
import Synchronization

/// A value that threads share behind a mutex. It is a class so that escaping closures can
/// capture it.
final class Locked<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>

  init(_ value: Value) { mutex = Mutex(value) }

  func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
    mutex.withLock { body(&$0) }
  }
}

/// Polls `condition` every 5 ms until it is true or `timeout` passes.
///
/// - Returns: whether the condition became true before the timeout.
func waitUntil(timeout: Duration = .seconds(3), _ condition: () -> Bool) -> Bool {
  let deadline = ContinuousClock.now + timeout
  while !condition() {
    if ContinuousClock.now >= deadline { return false }
    usleep(5000)
  }
  return true
}
