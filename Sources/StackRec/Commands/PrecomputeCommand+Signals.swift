import Glibc

/// The precompute's handling of signals that end it.
extension PrecomputeCommand {
  /// Makes SIGTERM, SIGINT and SIGHUP remove the run's temporary files before they end the
  /// process, as their default action does. A signal that the parent process set to be
  /// ignored, such as SIGHUP under `nohup`, stays ignored.
  ///
  /// Call it before any other thread starts, so that every later thread leaves the signals
  /// to the watcher thread.
  ///
  /// - Returns: the watcher, or nil when no signal needs one or it cannot start.
  static func watchSignals(logger: Logger) -> SignalWatcher? {
    let signals = SignalWatcher.watchedSignals.filter { !isIgnored($0) }
    guard !signals.isEmpty else { return nil }
    do {
      return try SignalWatcher(
        signals: signals,
        onTerminate: { signal in TemporaryFiles.removeAllAndRaise(signal, logger: logger) },
        onReload: { TemporaryFiles.removeAllAndRaise(SIGHUP, logger: logger) })
    } catch {
      logger.warning(
        "cannot watch signals, so a signal will leave temporary files for the next run to remove",
        ["error": "\(error)"])
      return nil
    }
  }

  /// Returns whether `signal`'s disposition is `SIG_IGN` (`sigaction`).
  private static func isIgnored(_ signal: Int32) -> Bool {
    var action = sigaction()
    guard sigaction(signal, nil, &action) == 0 else { return false }
    return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
      == unsafeBitCast(SIG_IGN, to: Int.self)
  }
}
