import Dispatch
import Foundation
import Glibc
import Testing

@testable import StackRec

@Suite struct SignalWatcherTests {
  @Test func signalsReachTheirClosures() throws {
    let received = Locked<[String]>([])
    let watcher = Locked<SignalWatcher?>(nil)

    // A new thread creates the watcher, so that the signals stay blocked only in that
    // thread and the watcher thread, not in the test runner's threads.
    let created = DispatchSemaphore(value: 0)
    let creator = Thread {
      let instance = try? SignalWatcher(
        onTerminate: { signal in received.withLock { $0.append("terminate \(signal)") } },
        onReload: { received.withLock { $0.append("reload") } })
      watcher.withLock { $0 = instance }
      created.signal()
    }
    creator.start()
    #expect(created.wait(timeout: .now() + 5) == .success)
    let instance = try #require(watcher.withLock { $0 })
    #expect(waitUntil { instance.watcherThread.load(ordering: .acquiring) != 0 })
    let thread = pthread_t(instance.watcherThread.load(ordering: .acquiring))

    // pthread_kill makes each signal pending on the watcher thread, which blocks it, so the
    // signalfd reads it and no default action runs.
    #expect(pthread_kill(thread, SIGHUP) == 0)
    #expect(waitUntil { received.withLock { $0 } == ["reload"] })
    #expect(pthread_kill(thread, SIGTERM) == 0)
    #expect(waitUntil { received.withLock { $0 } == ["reload", "terminate \(SIGTERM)"] })
    #expect(pthread_kill(thread, SIGINT) == 0)
    #expect(
      waitUntil {
        received.withLock { $0 } == ["reload", "terminate \(SIGTERM)", "terminate \(SIGINT)"]
      })

    instance.cancel()
    instance.cancel()
    #expect(waitUntil { instance.watcherThread.load(ordering: .acquiring) == 0 })
  }
}
