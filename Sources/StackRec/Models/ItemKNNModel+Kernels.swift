/// The inner loops of item kNN: building one item's similarity row, ranking
/// it, and predicting every user from it.
///
/// For a user with at most k rated items every nonzero neighbour counts, so
/// the prediction is two sums over the user's ratings. For a user with more,
/// the k best neighbours are found without comparing similarities per user:
/// the row is sorted once per item (similarity descending, index ascending,
/// by a stable radix sort on the float bits), each user's rated items are
/// marked by their rank in a bitmap, and the first k marked ranks are the
/// neighbours. The cost per user is a few simple operations per rated item
/// with no unpredictable branches, plus a scan of `items / 64` words.
extension ItemKNNModel {
  /// Scratch memory for one worker, allocated once and reused for every
  /// item and user.
  final class Workspace {
    let itemCount: Int
    /// `sim(target, j) * |R[:, target]|` for every item j.
    let row: UnsafeMutableBufferPointer<Float>
    /// Each item's position in the sorted row; items with similarity 0 get
    /// `rankedCount`, a spare slot past the ranked ones.
    let rank: UnsafeMutablePointer<Int32>
    /// The nonzero similarities, and their items, in rank order.
    let sortedSimilarities: UnsafeMutablePointer<Float>
    let sortedItems: UnsafeMutablePointer<Int32>
    var rankedCount = 0
    /// True when `rank` and `sortedSimilarities` describe the current row.
    var isRanked = false
    /// One bit per rank (plus the spare slot), marking a user's rated items.
    let bitmap: UnsafeMutablePointer<UInt64>
    /// The user's rating of the item at each marked rank.
    let ratingAtRank: UnsafeMutablePointer<Float>
    /// Candidate similarities and ratings for selection on an unranked row.
    let candidateSimilarities: UnsafeMutablePointer<Float>
    let candidateRatings: UnsafeMutablePointer<Float>
    let selection: UnsafeMutablePointer<Float>
    private let keys: UnsafeMutablePointer<UInt32>
    private let keysScratch: UnsafeMutablePointer<UInt32>
    private let order: UnsafeMutablePointer<Int32>
    private let orderScratch: UnsafeMutablePointer<Int32>
    private let counts: UnsafeMutablePointer<Int>

    static let radixBits = 11

    init(itemCount: Int) {
      self.itemCount = itemCount
      row = .allocate(capacity: itemCount)
      row.initialize(repeating: 0)
      rank = .allocate(capacity: itemCount)
      sortedSimilarities = .allocate(capacity: itemCount + 1)
      sortedItems = .allocate(capacity: itemCount + 1)
      bitmap = .allocate(capacity: itemCount / 64 + 2)
      ratingAtRank = .allocate(capacity: itemCount + 1)
      candidateSimilarities = .allocate(capacity: itemCount + 1)
      candidateRatings = .allocate(capacity: itemCount + 1)
      selection = .allocate(capacity: itemCount + 1)
      keys = .allocate(capacity: itemCount)
      keysScratch = .allocate(capacity: itemCount)
      order = .allocate(capacity: itemCount)
      orderScratch = .allocate(capacity: itemCount)
      counts = .allocate(capacity: 1 << Self.radixBits)
    }

    deinit {
      row.deallocate()
      rank.deallocate()
      sortedSimilarities.deallocate()
      sortedItems.deallocate()
      bitmap.deallocate()
      ratingAtRank.deallocate()
      candidateSimilarities.deallocate()
      candidateRatings.deallocate()
      selection.deallocate()
      keys.deallocate()
      keysScratch.deallocate()
      order.deallocate()
      orderScratch.deallocate()
      counts.deallocate()
    }

    /// Sorts the nonzero entries of `row` by similarity descending, then
    /// index ascending, and fills `rank`, `sortedSimilarities` and
    /// `rankedCount`.
    ///
    /// Positive floats order like their bit patterns, so the complemented
    /// bits sort descending by value; a stable least-significant-digit radix
    /// sort over input in index order keeps equal similarities by index.
    func rankRow() {
      var count = 0
      for item in 0..<itemCount {
        let similarity = row[item]
        keys[count] = ~similarity.bitPattern
        order[count] = Int32(item)
        count &+= similarity > 0 ? 1 : 0
      }

      var source = (keys, order)
      var target = (keysScratch, orderScratch)
      let bucketCount = 1 << Self.radixBits
      let mask = UInt32(bucketCount - 1)
      for shift in stride(from: 0, to: 32, by: Self.radixBits) {
        counts.initialize(repeating: 0, count: bucketCount)
        for index in 0..<count { counts[Int((source.0[index] >> UInt32(shift)) & mask)] += 1 }
        var total = 0
        for bucket in 0..<bucketCount {
          let size = counts[bucket]
          counts[bucket] = total
          total += size
        }
        for index in 0..<count {
          let key = source.0[index]
          let bucket = Int((key >> UInt32(shift)) & mask)
          let destination = counts[bucket]
          counts[bucket] = destination + 1
          target.0[destination] = key
          target.1[destination] = source.1[index]
        }
        swap(&source, &target)
      }

      rank.initialize(repeating: Int32(count), count: itemCount)
      for position in 0..<count {
        let item = Int(source.1[position])
        rank[item] = Int32(position)
        sortedSimilarities[position] = row[item]
        sortedItems[position] = Int32(item)
      }
      rankedCount = count
      isRanked = true
    }
  }

  func makeWorkspace() -> Workspace {
    Workspace(itemCount: itemCount)
  }

  /// Sets `workspace.row[j]` to `sim(item, j) * |R[:, item]|` for every item
  /// j, and ranks the row when `ranked` is true. Ranking pays off when many
  /// users are predicted from the row; for a few, selecting from each
  /// user's similarities directly is cheaper.
  func fillSimilarityRow(item: Int, workspace: Workspace, ranked: Bool = true) {
    let row = workspace.row
    row.update(repeating: 0)
    workspace.isRanked = false
    byItem.values.withUnsafeBufferPointer { itemValues in
      byItem.columns.withUnsafeBufferPointer { raters in
        byUser.columns.withUnsafeBufferPointer { userItems in
          normalizedByUser.withUnsafeBufferPointer { weights in
            byUser.offsets.withUnsafeBufferPointer { userOffsets in
              for entry in byItem.range(ofRow: item) {
                let rater = Int(raters[entry])
                let rating = itemValues[entry]
                for other in userOffsets[rater]..<userOffsets[rater + 1] {
                  row[Int(userItems[other])] += rating * weights[other]
                }
              }
            }
          }
        }
      }
    }
    if ranked { workspace.rankRow() }
  }

  /// Predicts `user`'s rating for the item whose ranked similarity row is in
  /// `workspace`.
  func predictFromRow(user: Int, workspace: Workspace) -> Double {
    byUser.columns.withUnsafeBufferPointer { columns in
      byUser.values.withUnsafeBufferPointer { values in
        let range = byUser.range(ofRow: user)
        let items = columns.baseAddress! + range.lowerBound
        let ratings = values.baseAddress! + range.lowerBound
        let k = configuration.neighbors
        let (similaritySum, weightedSum) =
          range.count <= k
          ? ItemKNNModel.sumAll(items: items, ratings: ratings, count: range.count, workspace: workspace)
          : workspace.isRanked
            ? ItemKNNModel.sumBest(
              items: items, ratings: ratings, count: range.count, k: k, workspace: workspace)
            : ItemKNNModel.sumBestBySelection(
              items: items, ratings: ratings, count: range.count, k: k, workspace: workspace)
        guard similaritySum > 0 else {
          // Every neighbour has similarity 0: the plain mean of the ratings
          // on the first k rated items, lowest index first.
          let chosen = min(k, range.count)
          var sum = 0.0
          for index in 0..<chosen { sum += Double(ratings[index]) }
          return sum / Double(chosen)
        }
        return Double(weightedSum) / Double(similaritySum)
      }
    }
  }

  /// Predicts a user with many ratings from a ranked row by walking the
  /// row in rank order and taking the first k items the user rated;
  /// `ratings` holds the user's rating of every item, 0 where unrated.
  ///
  /// The walk visits about k times the row length over the number of rated
  /// items, which for heavy users is far less than marking all of them.
  func predictFromRankedRow(user: Int, ratings: UnsafePointer<Float>, workspace: Workspace)
    -> Double
  {
    let k = configuration.neighbors
    var similaritySum: Float = 0
    var weightedSum: Float = 0
    var found = 0
    var position = 0
    let count = workspace.rankedCount
    while found < k && position < count {
      let rating = ratings[Int(workspace.sortedItems[position])]
      if rating > 0 {
        let similarity = workspace.sortedSimilarities[position]
        similaritySum += similarity
        weightedSum += similarity * rating
        found += 1
      }
      position += 1
    }
    guard similaritySum > 0 else {
      // No rated item has a nonzero similarity: the plain mean of the
      // ratings on the first k rated items, lowest index first.
      let range = byUser.range(ofRow: user)
      let chosen = min(k, range.count)
      var sum = 0.0
      for entry in range.prefix(chosen) { sum += Double(byUser.values[entry]) }
      return sum / Double(chosen)
    }
    return Double(weightedSum) / Double(similaritySum)
  }

  /// The similarity sum and the similarity-weighted rating sum over every
  /// rated item; zero similarities add nothing.
  @inline(__always)
  private static func sumAll(
    items: UnsafePointer<Int32>, ratings: UnsafePointer<Float>, count: Int, workspace: Workspace
  ) -> (Float, Float) {
    let row = workspace.row
    var similaritySum: Float = 0
    var weightedSum: Float = 0
    for index in 0..<count {
      let similarity = row[Int(items[index])]
      similaritySum += similarity
      weightedSum += similarity * ratings[index]
    }
    return (similaritySum, weightedSum)
  }

  /// The same sums over the k best-ranked rated items.
  @inline(__always)
  private static func sumBest(
    items: UnsafePointer<Int32>, ratings: UnsafePointer<Float>, count: Int, k: Int,
    workspace: Workspace
  ) -> (Float, Float) {
    let spare = workspace.rankedCount
    let words = spare / 64 + 1
    let bitmap = workspace.bitmap
    let rank = workspace.rank
    let ratingAtRank = workspace.ratingAtRank
    bitmap.initialize(repeating: 0, count: words)
    for index in 0..<count {
      let position = Int(rank[Int(items[index])])
      bitmap[position >> 6] |= 1 << UInt64(position & 63)
      ratingAtRank[position] = ratings[index]
    }
    // Items with similarity 0 all land on the spare slot; unmark it.
    bitmap[spare >> 6] &= ~(1 << UInt64(spare & 63))

    var similaritySum: Float = 0
    var weightedSum: Float = 0
    var found = 0
    var word = 0
    while found < k && word < words {
      var bits = bitmap[word]
      while bits != 0 && found < k {
        let position = word << 6 | bits.trailingZeroBitCount
        let similarity = workspace.sortedSimilarities[position]
        similaritySum += similarity
        weightedSum += similarity * ratingAtRank[position]
        found += 1
        bits &= bits - 1
      }
      word += 1
    }
    return (similaritySum, weightedSum)
  }

  /// The sums over the k best rated items of an unranked row: the nonzero
  /// similarities are collected, the k-th largest found by quickselect, and
  /// ties at it taken in index order.
  private static func sumBestBySelection(
    items: UnsafePointer<Int32>, ratings: UnsafePointer<Float>, count: Int, k: Int,
    workspace: Workspace
  ) -> (Float, Float) {
    let row = workspace.row
    let similarities = workspace.candidateSimilarities
    let candidateRatings = workspace.candidateRatings
    var candidates = 0
    for index in 0..<count {
      let similarity = row[Int(items[index])]
      similarities[candidates] = similarity
      candidateRatings[candidates] = ratings[index]
      candidates &+= similarity != 0 ? 1 : 0
    }
    var similaritySum: Float = 0
    var weightedSum: Float = 0
    var threshold: Float = 0
    if candidates > k {
      let selection = UnsafeMutableBufferPointer(start: workspace.selection, count: candidates)
      _ = selection.initialize(from: UnsafeBufferPointer(start: similarities, count: candidates))
      threshold = kthLargest(selection, k)
    }

    // Keep the k best (similarity above the threshold, then ties in index
    // order) and sum them in rank order, as the ranked paths do, so every
    // path gives bit-identical predictions.
    var chosen: [(similarity: Float, rating: Float, position: Int)] = []
    chosen.reserveCapacity(k)
    for index in 0..<candidates where similarities[index] > threshold {
      chosen.append((similarities[index], candidateRatings[index], index))
    }
    var index = 0
    while chosen.count < k && index < candidates {
      if similarities[index] == threshold {
        chosen.append((threshold, candidateRatings[index], index))
      }
      index += 1
    }
    chosen.sort { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && $0.position < $1.position) }
    for entry in chosen {
      similaritySum += entry.similarity
      weightedSum += entry.similarity * entry.rating
    }
    return (similaritySum, weightedSum)
  }
}

/// Returns the k-th largest value in `buffer` (k is 1-based), by
/// quickselect with a three-way partition; the buffer is left reordered.
///
/// - Complexity: O(n) on average.
func kthLargest(_ buffer: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
  precondition(k >= 1 && k <= buffer.count, "k must be in 1...\(buffer.count), got \(k)")
  var low = 0
  var high = buffer.count - 1
  let target = k - 1
  while low < high {
    let middle = (low + high) / 2
    let (a, b, c) = (buffer[low], buffer[middle], buffer[high])
    let pivot = max(min(a, b), min(max(a, b), c))
    var lt = low
    var index = low
    var gt = high
    while index <= gt {
      let value = buffer[index]
      if value > pivot {
        buffer.swapAt(lt, index)
        lt += 1
        index += 1
      } else if value < pivot {
        buffer.swapAt(index, gt)
        gt -= 1
      } else {
        index += 1
      }
    }
    if target < lt {
      high = lt - 1
    } else if target > gt {
      low = gt + 1
    } else {
      return pivot
    }
  }
  return buffer[low]
}
