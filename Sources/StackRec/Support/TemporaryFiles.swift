import Glibc
import Synchronization

/// The temporary files that this process is writing, so that a signal that stops the
/// process can remove them first.
///
/// A writer adds a file's path before it creates the file and removes the path once the
/// file is renamed or deleted.
///
/// NOTE: A signal that arrives after a writer adds a path but before it creates the file
/// still leaves that file behind. `FeatureStoreWriter` removes such files on its next run.
enum TemporaryFiles {
  private static let paths = Mutex<Set<String>>([])

  static func add(_ path: String) {
    _ = paths.withLock { $0.insert(path) }
  }

  static func remove(_ path: String) {
    _ = paths.withLock { $0.remove(path) }
  }

  /// Deletes every listed file, then ends the process with `signal`'s default action.
  ///
  /// The list stays locked until the process ends, so no writer can add a file meanwhile.
  /// Call it on a thread where `signal` is blocked and not pending, such as the
  /// `SignalWatcher` thread: it unblocks the signal there and raises it.
  static func removeAllAndRaise(_ signal: Int32, logger: Logger) -> Never {
    paths.withLock { paths -> Never in
      logger.warning(
        "stopping on a signal", ["signal": signalName(signal), "temporary_files": paths.count])
      for path in paths { unlink(path) }

      Glibc.signal(signal, SIG_DFL)
      var unblocked = sigset_t()
      sigemptyset(&unblocked)
      sigaddset(&unblocked, signal)
      pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
      raise(signal)
      // Not reached: the default action of every signal passed here ends the process.
      _exit(128 + signal)
    }
  }
}

/// Returns the usual name of a signal for log lines, such as `SIGTERM`.
func signalName(_ signal: Int32) -> String {
  switch signal {
  case SIGTERM: "SIGTERM"
  case SIGINT: "SIGINT"
  case SIGHUP: "SIGHUP"
  default: "signal \(signal)"
  }
}
