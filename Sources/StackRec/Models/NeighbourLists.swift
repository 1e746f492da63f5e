/// Per-item lists of the most similar items, built from baseline residuals
/// with shrunk Pearson-baseline similarity (see `KNNBaselineModel`).
struct NeighbourLists: Sendable {
  var offsets: [Int]
  var items: [Int32]
  var similarities: [Float]

  /// Flattens one list per item, in item order.
  init(lists: [[(item: Int32, similarity: Float)]]) {
    offsets = [0]
    offsets.reserveCapacity(lists.count + 1)
    items = []
    similarities = []
    for list in lists {
      for neighbour in list {
        items.append(neighbour.item)
        similarities.append(neighbour.similarity)
      }
      offsets.append(items.count)
    }
  }

  init(offsets: [Int], items: [Int32], similarities: [Float]) {
    self.offsets = offsets
    self.items = items
    self.similarities = similarities
  }

  /// The lists turned around: for each item j, the items whose lists
  /// contain j, with the same similarities, in ascending item order.
  func reversed(itemCount: Int) -> NeighbourLists {
    var reverseOffsets = [Int](repeating: 0, count: itemCount + 1)
    for neighbour in items { reverseOffsets[Int(neighbour) + 1] += 1 }
    for item in 0..<itemCount { reverseOffsets[item + 1] += reverseOffsets[item] }
    var cursor = reverseOffsets
    var reverseItems = [Int32](repeating: 0, count: items.count)
    var reverseSimilarities = [Float](repeating: 0, count: items.count)
    for target in 0..<(offsets.count - 1) {
      for entry in offsets[target]..<offsets[target + 1] {
        let neighbour = Int(items[entry])
        reverseItems[cursor[neighbour]] = Int32(target)
        reverseSimilarities[cursor[neighbour]] = similarities[entry]
        cursor[neighbour] += 1
      }
    }
    return NeighbourLists(
      offsets: reverseOffsets, items: reverseItems, similarities: reverseSimilarities)
  }

  /// Computes every item's similarity row from the sparse ratings and keeps
  /// its `maxNeighbors` largest positive similarities, most similar first
  /// (ties by lower item index). Rows are built in parallel, one item at a
  /// time per worker.
  ///
  /// - Parameters:
  ///   - userResiduals: the residual of each entry of `training.byUser`.
  ///   - itemResiduals: the residual of each entry of `training.byItem`.
  static func build(
    training: TrainingSet, userResiduals: [Float], itemResiduals: [Float], shrinkage: Float,
    maxNeighbors: Int
  ) -> NeighbourLists {
    let itemCount = training.itemCount
    var lists = [[(item: Int32, similarity: Float)]](repeating: [], count: itemCount)
    lists.withUnsafeMutableBufferPointer { output in
      let shared = SharedBuffer(output)
      // Each worker writes only the lists of its own items.
      parallelChunks(itemCount) { chunk in
        var accumulator = Accumulator(itemCount: itemCount)
        for item in chunk {
          shared[item] = accumulator.topNeighbours(
            of: item, training: training, userResiduals: userResiduals,
            itemResiduals: itemResiduals, shrinkage: shrinkage, maxNeighbors: maxNeighbors)
        }
      }
    }
    return NeighbourLists(lists: lists)
  }

  /// Sums over common users for one item against every other item.
  private struct Accumulator {
    var counts: [Int32]
    var products: [Float]
    var ownSquares: [Float]
    var otherSquares: [Float]
    var touched: [Int32] = []

    init(itemCount: Int) {
      counts = [Int32](repeating: 0, count: itemCount)
      products = [Float](repeating: 0, count: itemCount)
      ownSquares = [Float](repeating: 0, count: itemCount)
      otherSquares = [Float](repeating: 0, count: itemCount)
    }

    mutating func topNeighbours(
      of item: Int, training: TrainingSet, userResiduals: [Float], itemResiduals: [Float],
      shrinkage: Float, maxNeighbors: Int
    ) -> [(item: Int32, similarity: Float)] {
      let byItem = training.byItem
      let byUser = training.byUser
      touched.removeAll(keepingCapacity: true)
      counts.withUnsafeMutableBufferPointer { counts in
        products.withUnsafeMutableBufferPointer { products in
          ownSquares.withUnsafeMutableBufferPointer { ownSquares in
            otherSquares.withUnsafeMutableBufferPointer { otherSquares in
              for entry in byItem.range(ofRow: item) {
                let user = Int(byItem.columns[entry])
                let x = itemResiduals[entry]
                for other in byUser.range(ofRow: user) {
                  let neighbour = Int(byUser.columns[other])
                  let y = userResiduals[other]
                  if counts[neighbour] == 0 { touched.append(Int32(neighbour)) }
                  counts[neighbour] += 1
                  products[neighbour] += x * y
                  ownSquares[neighbour] += x * x
                  otherSquares[neighbour] += y * y
                }
              }
            }
          }
        }
      }

      var candidates: [(item: Int32, similarity: Float)] = []
      for neighbour in touched {
        let index = Int(neighbour)
        defer {
          counts[index] = 0
          products[index] = 0
          ownSquares[index] = 0
          otherSquares[index] = 0
        }
        guard index != item else { continue }
        let denominator = (ownSquares[index] * otherSquares[index]).squareRoot()
        guard denominator > 0 else { continue }
        let n = Float(counts[index])
        let similarity = (n - 1) / (n - 1 + shrinkage) * products[index] / denominator
        if similarity > 0 { candidates.append((neighbour, similarity)) }
      }
      let ranksAbove = { (a: (item: Int32, similarity: Float), b: (item: Int32, similarity: Float)) in
        a.similarity > b.similarity || (a.similarity == b.similarity && a.item < b.item)
      }
      if candidates.count > maxNeighbors {
        candidates = Array(partialTop(candidates, maxNeighbors, by: ranksAbove))
      }
      candidates.sort(by: ranksAbove)
      return candidates
    }
  }
}

/// The `count` elements that rank first under `ranksAbove`, in no
/// particular order (quickselect).
func partialTop<T>(_ elements: [T], _ count: Int, by ranksAbove: (T, T) -> Bool) -> ArraySlice<T> {
  var values = elements
  var low = 0
  var high = values.count - 1
  while low < high {
    let pivot = values[(low + high) / 2]
    var left = low
    var right = high
    while left <= right {
      while ranksAbove(values[left], pivot) { left += 1 }
      while ranksAbove(pivot, values[right]) { right -= 1 }
      if left <= right {
        values.swapAt(left, right)
        left += 1
        right -= 1
      }
    }
    if count - 1 <= right {
      high = right
    } else if count - 1 >= left {
      low = left
    } else {
      break
    }
  }
  return values[0..<count]
}
