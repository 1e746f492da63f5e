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
  let byUser: SparseMatrix
  let byItem: SparseMatrix
  /// `r_uj / |R[:, j]|` for each entry of `byUser`, so that accumulating
  /// `r_vi * weights` over `i`'s raters gives `sim(i, j) * |R[:, i]|`. The
  /// constant factor `|R[:, i]|` cancels in the weighted mean.
  let normalizedByUser: [Float]

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
    let workspace = makeWorkspace()
    fillSimilarityRow(item: Int(item), workspace: workspace, ranked: false)
    return Prediction(predictFromRow(user: Int(user), workspace: workspace))
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
        let workspace = self.makeWorkspace()
        for item in requestedItems[chunk] {
          let ratingsToVisit = requestsByItem[item].reduce(0) {
            $0 + self.byUser.count(ofRow: Int(users[$1]))
          }
          self.fillSimilarityRow(
            item: item, workspace: workspace,
            ranked: self.isRankingWorthIt(ratingsToVisit: ratingsToVisit))
          for position in requestsByItem[item] {
            shared[position] = self.predictFromRow(
              user: Int(users[position]), workspace: workspace)
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
    scoreRows(users: Array(0..<userCount), into: output)
  }

  public func scoreRows(users: [Int], into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count == users.count * itemCount, "output must hold users x items scores")
    let shared = SharedBuffer(output)
    let columns = itemCount
    let fallbackValue = Float(globalMean)
    let positions = Array(users.indices)
    let known = positions.filter { isKnown(user: Int32(users[$0])) }
    let unknown = positions.filter { !isKnown(user: Int32(users[$0])) }

    // Users with many ratings walk each ranked row instead of marking all
    // their items; they need their ratings laid out densely.
    let heavyThreshold = 8 * configuration.neighbors
    let heavy = known.filter { byUser.count(ofRow: users[$0]) >= heavyThreshold }
    let light = known.filter { byUser.count(ofRow: users[$0]) < heavyThreshold }
    var denseRatings = [Float](repeating: 0, count: heavy.count * itemCount)
    for (slot, position) in heavy.enumerated() {
      for entry in byUser.range(ofRow: users[position]) {
        denseRatings[slot * itemCount + Int(byUser.columns[entry])] = byUser.values[entry]
      }
    }
    let heavyRatings = denseRatings
    let ranked = isRankingWorthIt(ratingsToVisit: known.reduce(0) { $0 + byUser.count(ofRow: users[$1]) })

    // Each worker owns the output columns of its own items.
    parallelChunks(itemCount) { chunk in
      let workspace = self.makeWorkspace()
      heavyRatings.withUnsafeBufferPointer { heavyRatings in
        for item in chunk {
          for position in unknown { shared[position * columns + item] = fallbackValue }
          guard self.isKnown(item: Int32(item)) else {
            for position in known { shared[position * columns + item] = fallbackValue }
            continue
          }
          self.fillSimilarityRow(item: item, workspace: workspace, ranked: ranked)
          for position in light {
            shared[position * columns + item] = Float(
              self.predictFromRow(user: users[position], workspace: workspace))
          }
          for (slot, position) in heavy.enumerated() {
            shared[position * columns + item] = Float(
              ranked
                ? self.predictFromRankedRow(
                  user: users[position], ratings: heavyRatings.baseAddress! + slot * columns,
                  workspace: workspace)
                : self.predictFromRow(user: users[position], workspace: workspace))
          }
        }
      }
    }
  }

  /// Whether sorting a similarity row pays off: a sort costs a few passes
  /// over the row, and it saves most of the work of selecting each user's
  /// neighbours, which visits every rated item of every user predicted.
  func isRankingWorthIt(ratingsToVisit: Int) -> Bool {
    ratingsToVisit > 4 * itemCount
  }
}
