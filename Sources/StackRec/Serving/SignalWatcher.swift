import CLinux
import Foundation
import Glibc
import Synchronization

/// Receives SIGTERM, SIGINT and SIGHUP on a thread of its own and calls a closure for each.
///
/// Create the watcher on the main thread before any other thread starts. The initializer
/// blocks the three signals in the calling thread with `pthread_sigmask`, and a new thread
/// inherits the mask of the thread that creates it, so every later thread leaves the
/// signals pending for the watcher. A thread started before the watcher still accepts them:
/// the kernel may deliver a signal to that thread instead, and the default action of all
/// three ends the process.
///
/// The watcher thread reads the signals from a `signalfd`. SIGTERM and SIGINT call
/// `onTerminate` with the signal number, and SIGHUP calls `onReload`. The closures run on
/// the watcher thread one at a time. The kernel merges copies of one signal that arrive
/// while an earlier copy is still pending, so several quick SIGHUPs may call `onReload` once.
///
/// ```swift
/// let watcher = try SignalWatcher(
///   onTerminate: { _ in server.stop() },
///   onReload: { reloadStore() })
/// ```
public final class SignalWatcher: Sendable {
  /// The signals that the watcher blocks and receives.
  public static let watchedSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

  private let signalDescriptor: Int32
  private let cancelEvent: Int32
  private let isCancelled = Atomic<Bool>(false)

  /// The `pthread_t` of the watcher thread while it runs, and 0 before it starts and after
  /// it ends.
  let watcherThread = Atomic<UInt>(0)

  /// Blocks the watched signals in the calling thread and starts the watcher thread.
  ///
  /// - Parameter signals: the signals to watch, a subset of `watchedSignals`; the others
  ///   keep their disposition.
  /// - Throws: `SystemCallError` when `pthread_sigmask`, `signalfd` or `eventfd` fails. The
  ///   signals may stay blocked in the calling thread after a failure.
  public init(
    signals watched: [Int32] = SignalWatcher.watchedSignals,
    onTerminate: @escaping @Sendable (Int32) -> Void,
    onReload: @escaping @Sendable () -> Void
  ) throws(SystemCallError) {
    precondition(
      watched.allSatisfy(Self.watchedSignals.contains),
      "SignalWatcher watches only SIGTERM, SIGINT and SIGHUP, not \(watched)")
    var signals = sigset_t()
    sigemptyset(&signals)
    for signal in watched { sigaddset(&signals, signal) }
    // pthread_sigmask returns the error number instead of setting errno.
    let code = pthread_sigmask(SIG_BLOCK, &signals, nil)
    guard code == 0 else { throw SystemCallError(operation: "pthread_sigmask", code: code) }

    signalDescriptor = try SystemCall.retryingInterrupts("signalfd") {
      signalfd(-1, &signals, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
    }
    do {
      cancelEvent = try SystemCall.eventCreate()
    } catch {
      SystemCall.close(signalDescriptor)
      throw error
    }

    let thread = Thread { [self] in
      watch(onTerminate: onTerminate, onReload: onReload)
    }
    thread.name = "signal-watcher"
    thread.start()
  }

  /// Stops the watcher thread. The signals stay blocked, so later ones stay pending.
  ///
  /// Callable from any thread, more than once, and from the closures themselves.
  public func cancel() {
    if !isCancelled.exchange(true, ordering: .acquiringAndReleasing) {
      SystemCall.eventSignal(cancelEvent)
    }
  }

  /// Waits for signals and calls the closures until `cancel()` signals `cancelEvent`, then
  /// closes both descriptors.
  private func watch(
    onTerminate: @Sendable (Int32) -> Void, onReload: @Sendable () -> Void
  ) {
    watcherThread.store(UInt(pthread_self()), ordering: .releasing)
    defer {
      watcherThread.store(0, ordering: .releasing)
      SystemCall.close(signalDescriptor)
      SystemCall.close(cancelEvent)
    }

    var descriptors = [
      pollfd(fd: signalDescriptor, events: Int16(POLLIN), revents: 0),
      pollfd(fd: cancelEvent, events: Int16(POLLIN), revents: 0),
    ]
    while true {
      if poll(&descriptors, nfds_t(descriptors.count), -1) < 0 {
        // EINTR cannot come from the blocked signals but may come from others. For these
        // arguments ENOMEM is the only other failure, which may pass, so retry after a pause.
        if errno != EINTR { usleep(10_000) }
        continue
      }
      // Only cancel() writes the eventfd, and only once, so the descriptors stay open until
      // the write is done.
      if descriptors[1].revents != 0 { return }
      guard descriptors[0].revents != 0 else { continue }

      var info = signalfd_siginfo()
      let size = MemoryLayout<signalfd_siginfo>.size
      guard read(signalDescriptor, &info, size) == size else { continue }
      let signal = Int32(info.ssi_signo)
      switch signal {
      case SIGHUP: onReload()
      case SIGTERM, SIGINT: onTerminate(signal)
      default: break
      }
    }
  }
}
