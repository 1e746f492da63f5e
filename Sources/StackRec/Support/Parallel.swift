import Dispatch
import Glibc

/// A mutable buffer shared by parallel workers that write disjoint parts.
///
/// Swift cannot prove that workers touch disjoint indices, so the type is
/// `@unchecked Sendable`; every use documents which part each worker owns.
struct SharedBuffer<Element>: @unchecked Sendable {
  let base: UnsafeMutablePointer<Element>
  let count: Int

  init(_ buffer: UnsafeMutableBufferPointer<Element>) {
    base = buffer.baseAddress!
    count = buffer.count
  }

  @inline(__always)
  subscript(index: Int) -> Element {
    get { base[index] }
    nonmutating set { base[index] = newValue }
  }
}

/// The number of worker threads for parallel loops: the online processor
/// count, or `STACKREC_THREADS` when set.
public let workerCount: Int = {
  if let text = getenv("STACKREC_THREADS"), let value = Int(String(cString: text)), value > 0 {
    return value
  }
  return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}()

/// Runs `body` for each chunk of `0..<count`, in parallel.
///
/// The range is cut into about `4 * workerCount` chunks of equal length so
/// that uneven work still spreads across the workers.
func parallelChunks(
  _ count: Int, minimumChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void
) {
  guard count > 0 else { return }
  let chunkCount = min(max(1, count / max(1, minimumChunk)), workerCount * 4)
  if chunkCount == 1 || workerCount == 1 {
    body(0..<count)
    return
  }
  DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
    let start = count * chunk / chunkCount
    let end = count * (chunk + 1) / chunkCount
    if start < end { body(start..<end) }
  }
}
