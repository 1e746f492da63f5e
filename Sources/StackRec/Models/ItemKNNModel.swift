/// Item-based k-nearest-neighbour regression with cosine similarity.
///
/// ```
/// sim(i, j)   = <R[:, i], R[:, j]> / (|R[:, i]| * |R[:, j]|)
/// N_k(u; i)   = the k items rated by u with the largest sim(i, j)
/// r_hat(u, i) = sum_{j in N_k(u; i)} sim(i, j) * r_uj / sum_{j in N_k(u; i)} |sim(i, j)|
/// ```
///
/// `R` is the users-by-items rating matrix with 0 where a rating is missing,
/// so the similarity is the plain cosine of item columns (not mean-centred).
/// When every similarity in `N_k(u; i)` is 0, the prediction is the plain
/// mean of `u`'s ratings on those items. Among items of equal similarity,
/// the one with the lower index is chosen first.
///
/// An unknown user or item gets the global mean of the training ratings.
///
/// The model stores no similarity matrix. Predictions for an item compute
/// that item's similarity row from the sparse rating columns, so memory
/// stays O(ratings + items); batch prediction and all-pairs scoring compute
/// each needed row once and share it across users.
///
/// - Complexity: one similarity row costs the sum, over the item's raters,
///   of their rating counts; a prediction from a row costs O(n_u) for a user
///   with n_u ratings (a selection, not a sort).
public struct ItemKNNModel: RatingModel {
  public struct Configuration: Sendable, Equatable {
    /// The neighbourhood size `k` (default 40).
    public var neighbors: Int = 40

    public init(neighbors: Int = 40) {
      self.neighbors = neighbors
    }
  }

  public static let key = "item_knn"
  public var key: String { Self.key }

  public let configuration: Configuration
  public let globalMean: Double
  private let byUser: SparseMatrix
  private let byItem: SparseMatrix
  /// `r_uj / |R[:, j]|` for each entry of `byUser`, so that accumulating
  /// `r_vi * weights` over `i`'s raters gives `sim(i, j) * |R[:, i]|`. The
  /// constant factor `|R[:, i]|` cancels in the weighted mean.
  private let normalizedByUser: [Float]

  public var userCount: Int { byUser.rowCount }
  public var itemCount: Int { byItem.rowCount }

  public static func fit(_ training: TrainingSet, configuration: Configuration = Configuration())
    -> ItemKNNModel
  {
    precondition(configuration.neighbors >= 1, "neighbors must be at least 1")
    var norms = [Float](repeating: 0, count: training.itemCount)
    for item in 0..<training.itemCount {
      var sum: Float = 0
      for entry in training.byItem.range(ofRow: item) {
        let value = training.byItem.values[entry]
        sum += value * value
      }
      norms[item] = sum.squareRoot()
    }
    let normalized = (0..<training.byUser.columns.count).map { entry -> Float in
      let norm = norms[Int(training.byUser.columns[entry])]
      return norm > 0 ? training.byUser.values[entry] / norm : 0
    }
    return ItemKNNModel(
      configuration: configuration, globalMean: training.globalMean, byUser: training.byUser,
      byItem: training.byItem, normalizedByUser: normalized)
  }

  private func isKnown(user: Int32) -> Bool {
    user >= 0 && Int(user) < userCount && byUser.count(ofRow: Int(user)) > 0
  }

  private func isKnown(item: Int32) -> Bool {
    item >= 0 && Int(item) < itemCount && byItem.count(ofRow: Int(item)) > 0
  }

  public func predict(user: Int32, item: Int32) -> Prediction {
    let fallback = Fallback(userKnown: isKnown(user: user), itemKnown: isKnown(item: item))
    guard fallback == .none else { return Prediction(globalMean, fallback: fallback) }
    var workspace = Workspace(itemCount: itemCount)
    fillSimilarityRow(item: Int(item), workspace: &workspace)
    return Prediction(predictFromRow(user: Int(user), workspace: &workspace))
  }

  public func predict(users: [Int32], items: [Int32]) -> [Double] {
    precondition(users.count == items.count, "\(users.count) users but \(items.count) items")
    var result = [Double](repeating: globalMean, count: users.count)

    // Group the requests by item so that each similarity row is built once.
    var grouping = [[Int]](repeating: [], count: itemCount)
    for (position, item) in items.enumerated()
    where isKnown(item: item) && isKnown(user: users[position]) {
      grouping[Int(item)].append(position)
    }
    let requestsByItem = grouping
    let requestedItems = (0..<itemCount).filter { !requestsByItem[$0].isEmpty }
    result.withUnsafeMutableBufferPointer { output in
      let shared = SharedBuffer(output)
      // Each worker writes only the positions requested for its items.
      parallelChunks(requestedItems.count) { chunk in
        var workspace = Workspace(itemCount: self.itemCount)
        for item in requestedItems[chunk] {
          self.fillSimilarityRow(item: item, workspace: &workspace)
          for position in requestsByItem[item] {
            shared[position] = self.predictFromRow(
              user: Int(users[position]), workspace: &workspace)
          }
        }
      }
    }
    return result
  }

  public func scoreAll(users: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
    // Row-by-row scoring would rebuild every similarity row for each user;
    // score the whole matrix item by item instead and copy the rows out.
    var matrix = [Float](repeating: 0, count: userCount * itemCount)
    matrix.withUnsafeMutableBufferPointer { scoreMatrix(into: $0) }
    for (row, user) in users.enumerated() {
      for item in 0..<itemCount {
        output[row * itemCount + item] = matrix[user * itemCount + item]
      }
    }
  }

  public func scoreMatrix(into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count == userCount * itemCount, "output must hold users x items scores")
    let shared = SharedBuffer(output)
    let columns = itemCount
    let fallbackValue = Float(globalMean)
    let knownUsers = (0..<userCount).filter { isKnown(user: Int32($0)) }
    let unknownUsers = (0..<userCount).filter { !isKnown(user: Int32($0)) }

    // Each worker owns the output columns of its own items.
    parallelChunks(itemCount) { chunk in
      var workspace = Workspace(itemCount: columns)
      for item in chunk {
        for user in unknownUsers { shared[user * columns + item] = fallbackValue }
        guard self.isKnown(item: Int32(item)) else {
          for user in knownUsers { shared[user * columns + item] = fallbackValue }
          continue
        }
        self.fillSimilarityRow(item: item, workspace: &workspace)
        for user in knownUsers {
          shared[user * columns + item] = Float(
            self.predictFromRow(user: user, workspace: &workspace))
        }
      }
    }
  }

  // MARK: - Kernels

  /// Scratch memory for one worker: a similarity row and candidate lists.
  struct Workspace {
    var row: [Float]
    var candidateSimilarities: [Float] = []
    var candidateRatings: [Float] = []
    var selection: [Float] = []

    init(itemCount: Int) {
      row = [Float](repeating: 0, count: itemCount)
    }
  }

  /// Sets `workspace.row[j]` to `sim(item, j) * |R[:, item]|` for every item j.
  private func fillSimilarityRow(item: Int, workspace: inout Workspace) {
    workspace.row.withUnsafeMutableBufferPointer { row in
      row.update(repeating: 0)
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
    }
  }

  /// Predicts `user`'s rating for the item whose similarity row is in
  /// `workspace.row`.
  private func predictFromRow(user: Int, workspace: inout Workspace) -> Double {
    let k = configuration.neighbors
    let range = byUser.range(ofRow: user)
    workspace.candidateSimilarities.removeAll(keepingCapacity: true)
    workspace.candidateRatings.removeAll(keepingCapacity: true)

    // Similarities are never negative because ratings are positive, so a
    // zero similarity adds nothing to either sum: collect only the others.
    var similaritySum: Double = 0
    var weightedSum: Double = 0
    workspace.row.withUnsafeBufferPointer { row in
      for entry in range {
        let similarity = row[Int(byUser.columns[entry])]
        if similarity != 0 {
          workspace.candidateSimilarities.append(similarity)
          workspace.candidateRatings.append(byUser.values[entry])
        }
      }
    }

    let candidates = workspace.candidateSimilarities.count
    if candidates == 0 {
      // Every neighbour has similarity 0: the plain mean of the ratings on
      // the first k rated items, lowest index first.
      let chosen = range.prefix(k)
      var sum = 0.0
      for entry in chosen { sum += Double(byUser.values[entry]) }
      return sum / Double(chosen.count)
    }
    if candidates <= k {
      for index in 0..<candidates {
        let similarity = Double(workspace.candidateSimilarities[index])
        similaritySum += abs(similarity)
        weightedSum += similarity * Double(workspace.candidateRatings[index])
      }
      return weightedSum / similaritySum
    }

    // More than k candidates: find the k-th largest similarity, take every
    // candidate above it, then candidates equal to it in index order.
    workspace.selection.removeAll(keepingCapacity: true)
    workspace.selection.append(contentsOf: workspace.candidateSimilarities)
    let threshold = kthLargest(&workspace.selection, k)
    var above = 0
    for index in 0..<candidates where workspace.candidateSimilarities[index] > threshold {
      let similarity = Double(workspace.candidateSimilarities[index])
      similaritySum += similarity
      weightedSum += similarity * Double(workspace.candidateRatings[index])
      above += 1
    }
    var remaining = k - above
    for index in 0..<candidates where remaining > 0 {
      if workspace.candidateSimilarities[index] == threshold {
        let similarity = Double(threshold)
        similaritySum += similarity
        weightedSum += similarity * Double(workspace.candidateRatings[index])
        remaining -= 1
      }
    }
    return weightedSum / similaritySum
  }
}

/// Returns the k-th largest value of `values` (k is 1-based), by
/// quickselect; `values` is left reordered.
///
/// - Complexity: O(n) on average.
func kthLargest(_ values: inout [Float], _ k: Int) -> Float {
  precondition(k >= 1 && k <= values.count, "k must be in 1...\(values.count), got \(k)")
  return values.withUnsafeMutableBufferPointer { buffer -> Float in
    var low = 0
    var high = buffer.count - 1
    let target = k - 1
    while low < high {
      // Median of three as the pivot, then a three-way partition around it
      // into larger, equal and smaller parts.
      let middle = (low + high) / 2
      let a = buffer[low]
      let b = buffer[middle]
      let c = buffer[high]
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
}
