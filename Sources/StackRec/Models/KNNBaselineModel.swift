/// Item-based k-nearest-neighbour regression on baseline residuals, with
/// shrunk Pearson-baseline similarity (the "KNNBaseline" model).
///
/// ```
/// b_ui        = mu + b_u + b_i                      (BaselineModel's fit)
/// rho(i, j)   = sum_{u in U_ij} (r_ui - b_ui)(r_uj - b_uj)
///               / sqrt(sum_{u in U_ij} (r_ui - b_ui)^2 * sum_{u in U_ij} (r_uj - b_uj)^2)
/// sim(i, j)   = (n_ij - 1) / (n_ij - 1 + shrinkage) * rho(i, j)
/// N_k(u; i)   = the k items rated by u with the largest sim(i, j) > 0
/// r_hat(u, i) = b_ui + sum_{j in N_k(u; i)} sim(i, j) (r_uj - b_uj) / sum_{j in N_k(u; i)} sim(i, j)
/// ```
///
/// `U_ij` is the set of users who rated both items and `n_ij` its size, so
/// the shrinkage pulls similarities measured on few common users toward 0.
/// With fewer than `minNeighbors` neighbours the prediction is the baseline
/// alone. Sources: Yehuda Koren, "Factor in the Neighbors: Scalable and
/// Accurate Collaborative Filtering", ACM TKDD 4(1), 2010, section 2.2
/// (baseline-centred similarity, shrinkage, the interpolation above); the
/// details (positive similarities only, the baseline of the neighbour's own
/// rating) follow the Surprise library's `KNNBaseline`, so the two can be
/// compared.
///
/// The model keeps, for each item, only its `maxNeighbors` most similar
/// items with positive similarity, sorted: memory is
/// O(items * maxNeighbors) instead of O(items^2), and a prediction walks the
/// list until it has found k items the user rated.
///
/// An unknown user or item gets the baseline `b_ui`, in which the unknown
/// side contributes 0.
///
/// - Complexity: fitting costs the sum over users of their rating count
///   squared (every co-rated pair once per direction); a prediction costs at
///   most `maxNeighbors` steps.
public struct KNNBaselineModel: RatingModel {
  public struct Configuration: Sendable, Equatable {
    /// The neighbourhood size `k` (default 40).
    public var neighbors = 40
    /// Predictions with fewer neighbours fall back to the baseline (default 1).
    public var minNeighbors = 1
    /// The similarity shrinkage (default 100).
    public var shrinkage = 100.0
    /// The length of each item's neighbour list (default 300).
    public var maxNeighbors = 300
    /// The baseline fit.
    public var baseline = BaselineModel.Configuration()

    public init() {}
  }

  public static let key = "knn_baseline"
  public var key: String { Self.key }

  public let configuration: Configuration
  public let globalMean: Double
  public let userBiases: [Double]
  public let itemBiases: [Double]
  let byUser: SparseMatrix
  let itemKnown: [Bool]
  /// Item `i`'s neighbours are at `neighborOffsets[i]..<neighborOffsets[i + 1]`
  /// of `neighborItems` and `neighborSimilarities`, most similar first.
  let neighborOffsets: [Int]
  let neighborItems: [Int32]
  let neighborSimilarities: [Float]

  public var userCount: Int { userBiases.count }
  public var itemCount: Int { itemBiases.count }

  public static func fit(_ training: TrainingSet, configuration: Configuration = Configuration())
    -> KNNBaselineModel
  {
    precondition(configuration.neighbors >= 1, "neighbors must be at least 1")
    precondition(configuration.maxNeighbors >= 1, "maxNeighbors must be at least 1")
    let (bu, bi) = BaselineModel.fitBiases(training, configuration: configuration.baseline)
    let mu = training.globalMean

    // Baseline residuals of every rating, in the order of byUser and byItem.
    let byUser = training.byUser
    let byItem = training.byItem
    var userResiduals = [Float](repeating: 0, count: byUser.values.count)
    for user in 0..<training.userCount {
      for entry in byUser.range(ofRow: user) {
        let item = Int(byUser.columns[entry])
        userResiduals[entry] = Float(Double(byUser.values[entry]) - mu - bu[user] - bi[item])
      }
    }
    var itemResiduals = [Float](repeating: 0, count: byItem.values.count)
    for item in 0..<training.itemCount {
      for entry in byItem.range(ofRow: item) {
        let user = Int(byItem.columns[entry])
        itemResiduals[entry] = Float(Double(byItem.values[entry]) - mu - bu[user] - bi[item])
      }
    }

    let lists = NeighbourLists.build(
      training: training, userResiduals: userResiduals, itemResiduals: itemResiduals,
      shrinkage: Float(configuration.shrinkage), maxNeighbors: configuration.maxNeighbors)
    return KNNBaselineModel(
      configuration: configuration, globalMean: mu, userBiases: bu, itemBiases: bi,
      byUser: byUser,
      itemKnown: (0..<training.itemCount).map { training.isKnown(item: Int32($0)) },
      neighborOffsets: lists.offsets, neighborItems: lists.items,
      neighborSimilarities: lists.similarities)
  }

  private func isKnown(user: Int32) -> Bool {
    user >= 0 && Int(user) < userCount && byUser.count(ofRow: Int(user)) > 0
  }

  private func isKnown(item: Int32) -> Bool {
    item >= 0 && Int(item) < itemCount && itemKnown[Int(item)]
  }

  public func predict(user: Int32, item: Int32) -> Prediction {
    let userKnown = isKnown(user: user)
    let itemKnown = isKnown(item: item)
    var baseline = globalMean
    if userKnown { baseline += userBiases[Int(user)] }
    if itemKnown { baseline += itemBiases[Int(item)] }
    guard userKnown && itemKnown else {
      return Prediction(baseline, fallback: Fallback(userKnown: userKnown, itemKnown: itemKnown))
    }
    var residuals = [Float](repeating: .nan, count: itemCount)
    fillResiduals(user: Int(user), into: &residuals)
    return Prediction(baseline + neighbourhoodTerm(item: Int(item), residuals: residuals))
  }

  public func predict(users: [Int32], items: [Int32]) -> [Double] {
    precondition(users.count == items.count, "\(users.count) users but \(items.count) items")
    var result = [Double](repeating: 0, count: users.count)
    // Group the requests by user so each user's residuals are laid out once.
    var grouping = [[Int]](repeating: [], count: userCount)
    for (position, user) in users.enumerated() {
      if isKnown(user: user) && isKnown(item: items[position]) {
        grouping[Int(user)].append(position)
      } else {
        result[position] = predict(user: user, item: items[position]).value
      }
    }
    let requestsByUser = grouping
    result.withUnsafeMutableBufferPointer { output in
      let shared = SharedBuffer(output)
      // Each worker writes only the positions requested for its users.
      parallelChunks(userCount) { chunk in
        var residuals = [Float](repeating: .nan, count: self.itemCount)
        for user in chunk where !requestsByUser[user].isEmpty {
          self.fillResiduals(user: user, into: &residuals)
          let userTerm = self.globalMean + self.userBiases[user]
          for position in requestsByUser[user] {
            let item = Int(items[position])
            shared[position] =
              userTerm + self.itemBiases[item]
              + self.neighbourhoodTerm(item: item, residuals: residuals)
          }
          self.clearResiduals(user: user, in: &residuals)
        }
      }
    }
    return result
  }

  public func scoreAll(users: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count >= users.count * itemCount, "output too small")
    var residuals = [Float](repeating: .nan, count: itemCount)
    var position = 0
    for user in users {
      let userTerm = globalMean + userBiases[user]
      let known = isKnown(user: Int32(user))
      if known { fillResiduals(user: user, into: &residuals) }
      for item in 0..<itemCount {
        var value = userTerm + itemBiases[item]
        if known && itemKnown[item] {
          value += neighbourhoodTerm(item: item, residuals: residuals)
        }
        output[position] = Float(value)
        position += 1
      }
      if known { clearResiduals(user: user, in: &residuals) }
    }
  }

  /// Writes `r_uj - b_uj` at each item j the user rated; other entries stay NaN.
  private func fillResiduals(user: Int, into residuals: inout [Float]) {
    let userTerm = globalMean + userBiases[user]
    for entry in byUser.range(ofRow: user) {
      let item = Int(byUser.columns[entry])
      residuals[item] = Float(Double(byUser.values[entry]) - userTerm - itemBiases[item])
    }
  }

  private func clearResiduals(user: Int, in residuals: inout [Float]) {
    for entry in byUser.range(ofRow: user) { residuals[Int(byUser.columns[entry])] = .nan }
  }

  /// The weighted mean of the residuals of the user's k nearest rated
  /// neighbours of `item`, or 0 with fewer than `minNeighbors` of them.
  @inline(__always)
  private func neighbourhoodTerm(item: Int, residuals: [Float]) -> Double {
    let k = configuration.neighbors
    var found = 0
    var similaritySum: Float = 0
    var weightedSum: Float = 0
    residuals.withUnsafeBufferPointer { residuals in
      neighborItems.withUnsafeBufferPointer { neighbours in
        neighborSimilarities.withUnsafeBufferPointer { similarities in
          var entry = neighborOffsets[item]
          let end = neighborOffsets[item + 1]
          while entry < end && found < k {
            let residual = residuals[Int(neighbours[entry])]
            if !residual.isNaN {
              similaritySum += similarities[entry]
              weightedSum += similarities[entry] * residual
              found += 1
            }
            entry += 1
          }
        }
      }
    }
    guard found >= configuration.minNeighbors, similaritySum > 0 else { return 0 }
    return Double(weightedSum / similaritySum)
  }

  /// `base(u, i) = (mu + b_u) * 1 + 1 * b_i`: the baseline, leaving the
  /// neighbourhood term to the stored residuals.
  public func scoreBasis() -> ScoreBasis? {
    ScoreBasis(
      rank: 2, userTerms: userBiases.flatMap { [Float(globalMean + $0), 1] },
      itemTerms: itemBiases.flatMap { [1, Float($0)] })
  }
}
