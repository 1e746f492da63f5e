import CLinux
import Synchronization

/// A socket that the accepting loop hands to another event loop.
struct AcceptedSocket: Sendable {
  let descriptor: Int32
  let info: ConnectionInfo
}

/// The parts of an event loop that other threads use: its epoll instance, the eventfd that
/// wakes it, and the queue of sockets handed to it.
///
/// The handle owns both descriptors and closes them, with any sockets still queued, when it
/// is released.
final class EventLoopHandle: Sendable {
  /// The epoll token of the wake-up eventfd.
  static let wakeToken = UInt64.max

  let epoll: Int32
  let wakeEvent: Int32
  private let queue = Mutex<[AcceptedSocket]>([])

  init() throws(SystemCallError) {
    epoll = try SystemCall.epollCreate()
    do {
      wakeEvent = try SystemCall.eventCreate()
    } catch {
      SystemCall.close(epoll)
      throw error
    }
    do {
      try SystemCall.epollControl(
        epoll, EPOLL_CTL_ADD, wakeEvent, events: EventMask.readable, token: Self.wakeToken)
    } catch {
      SystemCall.close(wakeEvent)
      SystemCall.close(epoll)
      throw error
    }
  }

  deinit {
    for socket in takeQueuedSockets() { SystemCall.close(socket.descriptor) }
    SystemCall.close(wakeEvent)
    SystemCall.close(epoll)
  }

  /// Queues an accepted socket for this loop and wakes it. Callable from any thread.
  func hand(_ socket: AcceptedSocket) {
    queue.withLock { $0.append(socket) }
    wake()
  }

  /// Makes the loop's `epoll_wait` return. Callable from any thread.
  func wake() {
    SystemCall.eventSignal(wakeEvent)
  }

  /// Removes and returns the queued sockets; the caller becomes responsible for them.
  func takeQueuedSockets() -> [AcceptedSocket] {
    queue.withLock { queued in
      let queuedSockets = queued
      queued.removeAll()
      return queuedSockets
    }
  }
}

/// The epoll event bits that the server uses, as the `UInt32` that `epoll_event` stores.
enum EventMask {
  static let readable = EPOLLIN.rawValue
  static let writable = EPOLLOUT.rawValue
  static let error = EPOLLERR.rawValue
  static let hangUp = EPOLLHUP.rawValue
}
