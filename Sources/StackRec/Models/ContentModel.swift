/// A content-based model: regularised biases plus a per-user linear model
/// over the items' genres, release decades and tags.
///
/// ```
/// r_hat(u, i) = mu + b_u + b_i + dot(w_u, x_i)
/// b_i         = (sum_{u in R(i)} (r_ui - mu - b_u - dot(w_u, x_i)) + lambda_i * dot(theta, x_i))
///               / (lambda_i + |R(i)|)
/// w_u         = argmin sum_{i in R(u)} (r_ui - mu - b_u - b_i - dot(w_u, x_i))^2 + lambda_w |w_u|^2
/// ```
///
/// `x_i` are the item's `ItemFeatures`. An item's bias is shrunk toward a
/// content prior `dot(theta, x_i)`, where `theta` is a ridge regression of
/// the plain baseline item biases on the features, weighted by each item's
/// rating count. So an item with few ratings, or none, still gets a score
/// informed by what it is, and each user's taste for genres and tags moves
/// the score further. The terms are fitted by alternating closed-form
/// steps: item biases, user biases, then each user's weights by ridge
/// regression (a Cholesky solve of size `features`).
///
/// An unknown user gets `mu + b_i`; an item without ratings gets the prior
/// `dot(theta, x_i)` as its bias; an item without features falls back to
/// the plain biases.
///
/// - Complexity: fitting is O(passes * (ratings * features^2 + users *
///   features^3)); prediction is O(features of the item).
public struct ContentModel: RatingModel {
  public struct Configuration: Sendable, Equatable {
    public var passes = 3
    /// Penalty of the user weights `w_u` (default 5).
    public var weightRegularization = 5.0
    /// Penalties of the biases; `itemRegularization` also sets how strongly
    /// an item bias is pulled toward its content prior.
    public var itemRegularization = 10.0
    public var userRegularization = 15.0
    /// Penalty of the prior's regression `theta` (default 1).
    public var priorRegularization = 1.0
    /// How many tags become features.
    public var maxTags = 30

    public init() {}
  }

  public static let key = "content"
  public var key: String { Self.key }

  public let configuration: Configuration
  public let globalMean: Double
  let userBiases: [Double]
  /// Item biases; for an item without ratings, its content prior.
  let itemBiases: [Double]
  /// `userCount` rows of `features.dimension` weights.
  let userWeights: [Double]
  let features: ItemFeatures
  let userKnown: [Bool]
  let itemKnown: [Bool]

  public var userCount: Int { userBiases.count }
  public var itemCount: Int { itemBiases.count }

  public static func fit(
    _ training: TrainingSet, features: ItemFeatures, configuration: Configuration = Configuration()
  ) -> ContentModel {
    precondition(features.itemCount == training.itemCount, "features must cover every item")
    let d = features.dimension
    let mu = training.globalMean
    let byUser = training.byUser
    let byItem = training.byItem
    var baseline = BaselineModel.Configuration()
    baseline.itemRegularization = configuration.itemRegularization
    baseline.userRegularization = configuration.userRegularization
    var (bu, bi) = BaselineModel.fitBiases(training, configuration: baseline)
    let prior = contentPrior(
      training: training, itemBiases: bi, features: features,
      regularization: configuration.priorRegularization)
    var weights = [Double](repeating: 0, count: training.userCount * d)

    func content(_ user: Int, _ item: Int) -> Double {
      var sum = 0.0
      for entry in features.features(of: item) {
        sum += weights[user * d + Int(features.indices[entry])] * Double(features.values[entry])
      }
      return sum
    }

    for _ in 0..<configuration.passes {
      for item in 0..<training.itemCount {
        let range = byItem.range(ofRow: item)
        var sum = configuration.itemRegularization * prior[item]
        for entry in range {
          let user = Int(byItem.columns[entry])
          sum += Double(byItem.values[entry]) - mu - bu[user] - content(user, item)
        }
        bi[item] = sum / (configuration.itemRegularization + Double(range.count))
      }
      for user in 0..<training.userCount {
        let range = byUser.range(ofRow: user)
        guard !range.isEmpty else { continue }
        var sum = 0.0
        for entry in range {
          let item = Int(byUser.columns[entry])
          sum += Double(byUser.values[entry]) - mu - bi[item] - content(user, item)
        }
        bu[user] = sum / (configuration.userRegularization + Double(range.count))
      }
      guard d > 0 else { continue }
      // Each user's weights depend only on that user's rows: solve in parallel.
      weights.withUnsafeMutableBufferPointer { buffer in
        let shared = SharedBuffer(buffer)
        let itemBiases = bi
        let userBiases = bu
        parallelChunks(training.userCount) { users in
          var gram = [Double](repeating: 0, count: d * d)
          var rhs = [Double](repeating: 0, count: d)
          for user in users {
            let range = byUser.range(ofRow: user)
            guard !range.isEmpty else { continue }
            for index in 0..<(d * d) { gram[index] = 0 }
            for index in 0..<d {
              rhs[index] = 0
              gram[index * d + index] = configuration.weightRegularization
            }
            for entry in range {
              let item = Int(byUser.columns[entry])
              let residual = Double(byUser.values[entry]) - mu - userBiases[user] - itemBiases[item]
              let itemFeatures = features.features(of: item)
              for a in itemFeatures {
                let fa = Int(features.indices[a])
                let va = Double(features.values[a])
                rhs[fa] += va * residual
                for b in itemFeatures {
                  gram[fa * d + Int(features.indices[b])] += va * Double(features.values[b])
                }
              }
            }
            let solution = LeastSquares.solve(gram, rhs, size: d)
            for index in 0..<d { shared[user * d + index] = solution[index] }
          }
        }
      }
    }

    return ContentModel(
      configuration: configuration, globalMean: mu, userBiases: bu, itemBiases: bi,
      userWeights: weights, features: features,
      userKnown: (0..<training.userCount).map { training.isKnown(user: Int32($0)) },
      itemKnown: (0..<training.itemCount).map { training.isKnown(item: Int32($0)) })
  }

  /// `dot(theta, x_i)` for every item, where `theta` is the ridge regression
  /// of the known items' biases on their features, each item weighted by
  /// `n_i / (n_i + 10)` so that biases measured on few ratings count less.
  static func contentPrior(
    training: TrainingSet, itemBiases: [Double], features: ItemFeatures, regularization: Double
  ) -> [Double] {
    let d = features.dimension
    guard d > 0 else { return [Double](repeating: 0, count: training.itemCount) }
    var gram = [Double](repeating: 0, count: d * d)
    var rhs = [Double](repeating: 0, count: d)
    for index in 0..<d { gram[index * d + index] = regularization }
    for item in 0..<training.itemCount {
      let count = Double(training.byItem.count(ofRow: item))
      guard count > 0 else { continue }
      let weight = count / (count + 10)
      let itemFeatures = features.features(of: item)
      for a in itemFeatures {
        let fa = Int(features.indices[a])
        let va = Double(features.values[a])
        rhs[fa] += weight * va * itemBiases[item]
        for b in itemFeatures {
          gram[fa * d + Int(features.indices[b])] += weight * va * Double(features.values[b])
        }
      }
    }
    let theta = LeastSquares.solve(gram, rhs, size: d)
    return (0..<training.itemCount).map { item in
      var sum = 0.0
      for entry in features.features(of: item) {
        sum += theta[Int(features.indices[entry])] * Double(features.values[entry])
      }
      return sum
    }
  }

  public func predict(user: Int32, item: Int32) -> Prediction {
    let isUserKnown = user >= 0 && Int(user) < userCount && userKnown[Int(user)]
    let isItemKnown = item >= 0 && Int(item) < itemCount && itemKnown[Int(item)]
    let inRange = item >= 0 && Int(item) < itemCount
    var value = globalMean
    if isUserKnown { value += userBiases[Int(user)] }
    if inRange { value += itemBiases[Int(item)] }
    if isUserKnown && inRange {
      let d = features.dimension
      for entry in features.features(of: Int(item)) {
        value += userWeights[Int(user) * d + Int(features.indices[entry])]
          * Double(features.values[entry])
      }
    }
    return Prediction(value, fallback: Fallback(userKnown: isUserKnown, itemKnown: isItemKnown))
  }

  /// `base(u, i) = (mu + b_u) * 1 + 1 * b_i + dot(w_u, x_i)`, exact.
  public func scoreBasis() -> ScoreBasis? {
    let d = features.dimension
    let rank = d + 2
    var userTerms = [Float](repeating: 0, count: userCount * rank)
    for user in 0..<userCount {
      userTerms[user * rank] = Float(globalMean + (userKnown[user] ? userBiases[user] : 0))
      userTerms[user * rank + 1] = 1
      guard userKnown[user] else { continue }
      for f in 0..<d { userTerms[user * rank + 2 + f] = Float(userWeights[user * d + f]) }
    }
    var itemTerms = [Float](repeating: 0, count: itemCount * rank)
    for item in 0..<itemCount {
      itemTerms[item * rank] = 1
      itemTerms[item * rank + 1] = Float(itemBiases[item])
      for entry in features.features(of: item) {
        itemTerms[item * rank + 2 + Int(features.indices[entry])] = features.values[entry]
      }
    }
    return ScoreBasis(rank: rank, userTerms: userTerms, itemTerms: itemTerms)
  }
}
