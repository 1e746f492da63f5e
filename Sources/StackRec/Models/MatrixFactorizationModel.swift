/// Biased matrix factorisation trained by stochastic gradient descent.
///
/// ```
/// r_hat(u, i) = mu + b_u + b_i + dot(p_u, q_i)
/// ```
///
/// `mu` is the mean training rating and stays fixed. For each training
/// rating, visited in a fresh random order every epoch, with
/// `e = r_ui - r_hat(u, i)`, learning rate `lr` and regularisation `reg`:
///
/// ```
/// b_u <- b_u + lr * (e - reg * b_u)
/// b_i <- b_i + lr * (e - reg * b_i)
/// p_u <- p_u + lr * (e * q_i - reg * p_u)
/// q_i <- q_i + lr * (e * p_u - reg * q_i)
/// ```
///
/// The `p_u` and `q_i` updates both use the values from before the step,
/// the "Funk SVD" variant described by Simon Funk ("Netflix Update: Try This
/// at Home", 2006) and by Koren, Bell and Volinsky ("Matrix Factorization
/// Techniques for Recommender Systems", IEEE Computer, 2009, equation 5).
/// Factors start as draws from N(0, initStandardDeviation^2) and biases at
/// 0, all from a `SeededGenerator`.
///
/// An unknown user or item gets `mu`.
///
/// - Complexity: fitting is O(epochs * ratings * factors); prediction is
///   O(factors).
public struct MatrixFactorizationModel: RatingModel {
  public struct Configuration: Sendable, Equatable {
    /// The number of latent factors (default 30).
    public var factors = 30
    /// Passes over the training ratings (default 12).
    public var epochs = 12
    /// The SGD step size `lr` (default 0.01).
    public var learningRate = 0.01
    /// The L2 penalty `reg` on biases and factors (default 0.05).
    public var regularization = 0.05
    /// The standard deviation of the initial factors (default 0.1).
    public var initStandardDeviation = 0.1
    /// The seed of the initialisation and the visiting order (default 42).
    public var seed: UInt64 = 42

    public init() {}
  }

  public static let key = "mf"
  /// The name in reports: `mf` for the reference configuration, `svd` for
  /// the tuned one.
  public let key: String

  public let configuration: Configuration
  public let globalMean: Double
  public let userBiases: [Double]
  public let itemBiases: [Double]
  /// User factors, `userCount` rows of `factors` values.
  public let userFactors: [Double]
  /// Item factors, `itemCount` rows of `factors` values.
  public let itemFactors: [Double]
  /// The training RMSE of each epoch, measured on the errors seen during
  /// the epoch (before each update).
  public let epochRMSE: [Double]
  private let userKnown: [Bool]
  private let itemKnown: [Bool]

  public var userCount: Int { userBiases.count }
  public var itemCount: Int { itemBiases.count }

  /// Fits the model on `training`.
  ///
  /// - Parameter onEpoch: called after each epoch with its number (from 1)
  ///   and training RMSE.
  public static func fit(
    _ training: TrainingSet, configuration: Configuration = Configuration(), key: String = key,
    onEpoch: (Int, Double) -> Void = { _, _ in }
  ) -> MatrixFactorizationModel {
    let factors = configuration.factors
    precondition(factors >= 1, "factors must be at least 1")
    var generator = SeededGenerator(seed: configuration.seed)
    let sigma = configuration.initStandardDeviation
    var p = (0..<training.userCount * factors).map { _ in
      generator.nextGaussian(standardDeviation: sigma)
    }
    var q = (0..<training.itemCount * factors).map { _ in
      generator.nextGaussian(standardDeviation: sigma)
    }
    var bu = [Double](repeating: 0, count: training.userCount)
    var bi = [Double](repeating: 0, count: training.itemCount)
    let mu = training.globalMean
    let lr = configuration.learningRate
    let reg = configuration.regularization
    let ratings = training.ratings
    // The ratings are shuffled as packed records rather than through an
    // index array, so each epoch reads them sequentially; the same swaps
    // give the same visiting order either way.
    var records = (0..<ratings.count).map {
      RatingRecord(user: ratings.users[$0], item: ratings.items[$0], value: ratings.values[$0])
    }
    var epochRMSE: [Double] = []

    for epoch in 1...max(configuration.epochs, 1) where configuration.epochs > 0 {
      generator.shuffle(&records)
      let squaredErrorSum = sgdEpoch(
        records: records, factors: factors, mu: mu, lr: lr, reg: reg, p: &p, q: &q, bu: &bu,
        bi: &bi)
      let rmse = (squaredErrorSum / Double(max(ratings.count, 1))).squareRoot()
      epochRMSE.append(rmse)
      onEpoch(epoch, rmse)
    }

    return MatrixFactorizationModel(
      key: key, configuration: configuration, globalMean: mu, userBiases: bu, itemBiases: bi,
      userFactors: p, itemFactors: q, epochRMSE: epochRMSE,
      userKnown: (0..<training.userCount).map { training.isKnown(user: Int32($0)) },
      itemKnown: (0..<training.itemCount).map { training.isKnown(item: Int32($0)) })
  }

  /// One pass of SGD over `records` in order, on raw pointers so the inner
  /// loop has no bounds or uniqueness checks.
  ///
  /// - Returns: the sum of squared errors seen before each update.
  private static func sgdEpoch(
    records: [RatingRecord], factors: Int, mu: Double, lr: Double, reg: Double,
    p: inout [Double], q: inout [Double], bu: inout [Double], bi: inout [Double]
  ) -> Double {
    var squaredErrorSum = 0.0
    records.withUnsafeBufferPointer { records in
      p.withUnsafeMutableBufferPointer { p in
        q.withUnsafeMutableBufferPointer { q in
          bu.withUnsafeMutableBufferPointer { bu in
            bi.withUnsafeMutableBufferPointer { bi in
              for record in records {
                let u = Int(record.user)
                let i = Int(record.item)
                let pu = p.baseAddress! + u * factors
                let qi = q.baseAddress! + i * factors
                var dot = 0.0
                for f in 0..<factors { dot += pu[f] * qi[f] }
                let error = Double(record.value) - (mu + bu[u] + bi[i] + dot)
                squaredErrorSum += error * error
                bu[u] += lr * (error - reg * bu[u])
                bi[i] += lr * (error - reg * bi[i])
                for f in 0..<factors {
                  let puf = pu[f]
                  let qif = qi[f]
                  pu[f] = puf + lr * (error * qif - reg * puf)
                  qi[f] = qif + lr * (error * puf - reg * qif)
                }
              }
            }
          }
        }
      }
    }
    return squaredErrorSum
  }

  public func predict(user: Int32, item: Int32) -> Prediction {
    let isUserKnown = user >= 0 && Int(user) < userCount && userKnown[Int(user)]
    let isItemKnown = item >= 0 && Int(item) < itemCount && itemKnown[Int(item)]
    let fallback = Fallback(userKnown: isUserKnown, itemKnown: isItemKnown)
    guard fallback == .none else { return Prediction(globalMean, fallback: fallback) }
    let u = Int(user)
    let i = Int(item)
    let factors = configuration.factors
    var dot = 0.0
    for f in 0..<factors {
      dot += userFactors[u * factors + f] * itemFactors[i * factors + f]
    }
    return Prediction(globalMean + userBiases[u] + itemBiases[i] + dot)
  }

  public func scoreAll(users: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count >= users.count * itemCount, "output too small")
    let factors = configuration.factors
    userFactors.withUnsafeBufferPointer { p in
      itemFactors.withUnsafeBufferPointer { q in
        var position = 0
        for user in users {
          guard userKnown[user] else {
            for _ in 0..<itemCount {
              output[position] = Float(globalMean)
              position += 1
            }
            continue
          }
          let pu = p.baseAddress! + user * factors
          let userTerm = globalMean + userBiases[user]
          for item in 0..<itemCount {
            if itemKnown[item] {
              let qi = q.baseAddress! + item * factors
              var dot = 0.0
              for f in 0..<factors { dot += pu[f] * qi[f] }
              output[position] = Float(userTerm + itemBiases[item] + dot)
            } else {
              output[position] = Float(globalMean)
            }
            position += 1
          }
        }
      }
    }
  }

  /// `base(u, i) = (mu + b_u) * 1 + 1 * b_i + dot(p_u, q_i)`, exact (up to
  /// `Float` rounding) for known pairs; an unknown user or item has zero
  /// terms, leaving the store to record the difference from `mu`.
  public func scoreBasis() -> ScoreBasis? {
    let factors = configuration.factors
    let rank = factors + 2
    var userTerms = [Float](repeating: 0, count: userCount * rank)
    for user in 0..<userCount {
      let row = user * rank
      guard userKnown[user] else {
        userTerms[row] = Float(globalMean)
        continue
      }
      userTerms[row] = Float(globalMean + userBiases[user])
      userTerms[row + 1] = 1
      for f in 0..<factors { userTerms[row + 2 + f] = Float(userFactors[user * factors + f]) }
    }
    var itemTerms = [Float](repeating: 0, count: itemCount * rank)
    for item in 0..<itemCount {
      let row = item * rank
      itemTerms[row] = 1
      guard itemKnown[item] else { continue }
      itemTerms[row + 1] = Float(itemBiases[item])
      for f in 0..<factors { itemTerms[row + 2 + f] = Float(itemFactors[item * factors + f]) }
    }
    return ScoreBasis(rank: rank, userTerms: userTerms, itemTerms: itemTerms)
  }
}

/// One rating packed for sequential SGD passes.
struct RatingRecord {
  var user: Int32
  var item: Int32
  var value: Float
}
