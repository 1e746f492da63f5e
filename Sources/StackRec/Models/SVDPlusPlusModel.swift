/// Matrix factorisation with implicit feedback from the items each user
/// rated ("SVD++").
///
/// ```
/// r_hat(u, i) = mu + b_u + b_i + dot(q_i, p_u + |N(u)|^(-1/2) * sum_{j in N(u)} y_j)
/// ```
///
/// `N(u)` is the set of items `u` rated in the training data, so a user's
/// profile is also described by which movies they chose to rate, whatever
/// the ratings were. Source: Yehuda Koren, "Factorization Meets the
/// Neighborhood: a Multifaceted Collaborative Filtering Model", KDD 2008,
/// section 4 (equation 15 and its SGD updates).
///
/// Training visits users in a random order and each user's ratings in a
/// random order, with `e = r_ui - r_hat(u, i)`:
///
/// ```
/// b_u <- b_u + lr_b * (e - reg_b * b_u)         b_i likewise
/// p_u <- p_u + lr * (e * q_i - reg * p_u)
/// q_i <- q_i + lr * (e * (p_u + z_u) - reg * q_i)
/// ```
///
/// where `z_u = |N(u)|^(-1/2) * sum y_j` is computed once per user visit.
/// NOTE: the `y_j` updates are summed over the user's ratings and applied
/// once at the end of the visit (`y_j += lr * (|N(u)|^(-1/2) * sum_i e q_i -
/// n_u * reg * y_j)`), the usual batching that makes an epoch cost
/// O(ratings * factors) instead of O(sum_u |N(u)|^2 * factors); the paper's
/// per-rating update differs in the order of the steps, not in the fixed
/// point.
///
/// Factors start as draws from N(0, initStandardDeviation^2); biases and
/// `y` at 0. An unknown user gets `mu + b_i`, an unknown item `mu + b_u`.
///
/// - Complexity: fitting is O(epochs * ratings * factors); prediction is
///   O(factors) once `z_u` is known.
public struct SVDPlusPlusModel: RatingModel {
  public struct Configuration: Sendable, Equatable {
    public var factors = 40
    public var epochs = 25
    public var learningRate = 0.007
    public var regularization = 0.02
    /// Step size and penalty of the biases.
    public var biasLearningRate = 0.007
    public var biasRegularization = 0.005
    public var initStandardDeviation = 0.1
    public var seed: UInt64 = 42

    public init() {}
  }

  public static let key = "svdpp"
  public var key: String { Self.key }

  public let configuration: Configuration
  public let globalMean: Double
  public let userBiases: [Double]
  public let itemBiases: [Double]
  /// `p_u + z_u` for each user, `factors` values per user.
  let userVectors: [Double]
  let itemFactors: [Double]
  let userKnown: [Bool]
  let itemKnown: [Bool]

  public var userCount: Int { userBiases.count }
  public var itemCount: Int { itemBiases.count }

  public static func fit(_ training: TrainingSet, configuration: Configuration = Configuration())
    -> SVDPlusPlusModel
  {
    let factors = configuration.factors
    precondition(factors >= 1, "factors must be at least 1")
    var generator = SeededGenerator(seed: configuration.seed)
    let sigma = configuration.initStandardDeviation
    var p = (0..<training.userCount * factors).map { _ in generator.nextGaussian(standardDeviation: sigma) }
    var q = (0..<training.itemCount * factors).map { _ in generator.nextGaussian(standardDeviation: sigma) }
    var y = [Double](repeating: 0, count: training.itemCount * factors)
    var bu = [Double](repeating: 0, count: training.userCount)
    var bi = [Double](repeating: 0, count: training.itemCount)
    let mu = training.globalMean
    let lr = configuration.learningRate
    let reg = configuration.regularization
    let lrBias = configuration.biasLearningRate
    let regBias = configuration.biasRegularization
    let byUser = training.byUser
    var users = (0..<training.userCount).filter { byUser.count(ofRow: $0) > 0 }
    var order: [Int] = []
    var z = [Double](repeating: 0, count: factors)
    var gradient = [Double](repeating: 0, count: factors)

    for _ in 0..<configuration.epochs {
      generator.shuffle(&users)
      p.withUnsafeMutableBufferPointer { p in
        q.withUnsafeMutableBufferPointer { q in
          y.withUnsafeMutableBufferPointer { y in
            for u in users {
              let range = byUser.range(ofRow: u)
              let norm = 1 / Double(range.count).squareRoot()
              for f in 0..<factors { z[f] = 0 }
              for entry in range {
                let yj = y.baseAddress! + Int(byUser.columns[entry]) * factors
                for f in 0..<factors { z[f] += yj[f] }
              }
              for f in 0..<factors {
                z[f] *= norm
                gradient[f] = 0
              }
              order.removeAll(keepingCapacity: true)
              order.append(contentsOf: range)
              generator.shuffle(&order)

              let pu = p.baseAddress! + u * factors
              for entry in order {
                let i = Int(byUser.columns[entry])
                let qi = q.baseAddress! + i * factors
                var dot = 0.0
                for f in 0..<factors { dot += qi[f] * (pu[f] + z[f]) }
                let error = Double(byUser.values[entry]) - (mu + bu[u] + bi[i] + dot)
                bu[u] += lrBias * (error - regBias * bu[u])
                bi[i] += lrBias * (error - regBias * bi[i])
                for f in 0..<factors {
                  let puf = pu[f]
                  let qif = qi[f]
                  pu[f] = puf + lr * (error * qif - reg * puf)
                  qi[f] = qif + lr * (error * (puf + z[f]) - reg * qif)
                  gradient[f] += error * qif
                }
              }

              let decay = 1 - lr * reg * Double(range.count)
              for entry in range {
                let yj = y.baseAddress! + Int(byUser.columns[entry]) * factors
                for f in 0..<factors { yj[f] = decay * yj[f] + lr * norm * gradient[f] }
              }
            }
          }
        }
      }
    }

    // Fold the implicit term into one vector per user for prediction.
    var userVectors = p
    for u in 0..<training.userCount {
      let range = byUser.range(ofRow: u)
      guard !range.isEmpty else { continue }
      let norm = 1 / Double(range.count).squareRoot()
      for entry in range {
        let j = Int(byUser.columns[entry])
        for f in 0..<factors { userVectors[u * factors + f] += norm * y[j * factors + f] }
      }
    }
    return SVDPlusPlusModel(
      configuration: configuration, globalMean: mu, userBiases: bu, itemBiases: bi,
      userVectors: userVectors, itemFactors: q,
      userKnown: (0..<training.userCount).map { training.isKnown(user: Int32($0)) },
      itemKnown: (0..<training.itemCount).map { training.isKnown(item: Int32($0)) })
  }

  public func predict(user: Int32, item: Int32) -> Prediction {
    let isUserKnown = user >= 0 && Int(user) < userCount && userKnown[Int(user)]
    let isItemKnown = item >= 0 && Int(item) < itemCount && itemKnown[Int(item)]
    var value = globalMean
    if isUserKnown { value += userBiases[Int(user)] }
    if isItemKnown { value += itemBiases[Int(item)] }
    if isUserKnown && isItemKnown {
      let factors = configuration.factors
      for f in 0..<factors {
        value += userVectors[Int(user) * factors + f] * itemFactors[Int(item) * factors + f]
      }
    }
    return Prediction(value, fallback: Fallback(userKnown: isUserKnown, itemKnown: isItemKnown))
  }

  public func scoreAll(users: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
    for (row, user) in users.enumerated() {
      for item in 0..<itemCount {
        output[row * itemCount + item] = Float(predict(user: Int32(user), item: Int32(item)).value)
      }
    }
  }

  /// `base(u, i) = (mu + b_u) * 1 + 1 * b_i + dot(p_u + z_u, q_i)`, exact
  /// for known pairs.
  public func scoreBasis() -> ScoreBasis? {
    factorBasis(
      globalMean: globalMean, userBiases: userBiases, itemBiases: itemBiases,
      userVectors: userVectors, itemVectors: itemFactors, factors: configuration.factors,
      userKnown: userKnown, itemKnown: itemKnown)
  }
}

/// A basis `(mu + b_u) * 1 + 1 * b_i + dot(user vector, item vector)`,
/// with the factor terms of unknown users and items set to 0.
func factorBasis(
  globalMean: Double, userBiases: [Double], itemBiases: [Double], userVectors: [Double],
  itemVectors: [Double], factors: Int, userKnown: [Bool], itemKnown: [Bool]
) -> ScoreBasis {
  let rank = factors + 2
  var userTerms = [Float](repeating: 0, count: userBiases.count * rank)
  for user in 0..<userBiases.count {
    let row = user * rank
    userTerms[row] = Float(globalMean + (userKnown[user] ? userBiases[user] : 0))
    userTerms[row + 1] = 1
    guard userKnown[user] else { continue }
    for f in 0..<factors { userTerms[row + 2 + f] = Float(userVectors[user * factors + f]) }
  }
  var itemTerms = [Float](repeating: 0, count: itemBiases.count * rank)
  for item in 0..<itemBiases.count {
    let row = item * rank
    itemTerms[row] = 1
    guard itemKnown[item] else { continue }
    itemTerms[row + 1] = Float(itemBiases[item])
    for f in 0..<factors { itemTerms[row + 2 + f] = Float(itemVectors[item * factors + f]) }
  }
  return ScoreBasis(rank: rank, userTerms: userTerms, itemTerms: itemTerms)
}
