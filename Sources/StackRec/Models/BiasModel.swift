/// The baseline predictor with unregularised user and item biases.
///
/// ```
/// r_hat(u, i) = mu + b_u + b_i
/// ```
///
/// `mu` is the mean of all training ratings, `b_u` the mean of user `u`'s
/// ratings minus `mu`, and `b_i` the mean of item `i`'s ratings minus `mu`.
/// Both biases are plain mean deviations, estimated independently of each
/// other, with no shrinkage.
///
/// An unknown user or item contributes 0, so an unknown user gets
/// `mu + b_i`, an unknown item `mu + b_u`, and both unknown `mu`.
///
/// - Complexity: fitting is O(ratings); prediction is O(1).
public struct BiasModel: RatingModel {
  public static let key = "bias"
  public var key: String { Self.key }

  public let globalMean: Double
  public let userBiases: [Double]
  public let itemBiases: [Double]
  private let userKnown: [Bool]
  private let itemKnown: [Bool]

  public var userCount: Int { userBiases.count }
  public var itemCount: Int { itemBiases.count }

  /// Fits the biases on `training`.
  public static func fit(_ training: TrainingSet) -> BiasModel {
    let mu = training.globalMean
    var userBiases = [Double](repeating: 0, count: training.userCount)
    var userKnown = [Bool](repeating: false, count: training.userCount)
    for user in 0..<training.userCount {
      let range = training.byUser.range(ofRow: user)
      guard !range.isEmpty else { continue }
      var sum = 0.0
      for entry in range { sum += Double(training.byUser.values[entry]) }
      userBiases[user] = sum / Double(range.count) - mu
      userKnown[user] = true
    }

    var itemBiases = [Double](repeating: 0, count: training.itemCount)
    var itemKnown = [Bool](repeating: false, count: training.itemCount)
    for item in 0..<training.itemCount {
      let range = training.byItem.range(ofRow: item)
      guard !range.isEmpty else { continue }
      var sum = 0.0
      for entry in range { sum += Double(training.byItem.values[entry]) }
      itemBiases[item] = sum / Double(range.count) - mu
      itemKnown[item] = true
    }

    return BiasModel(
      globalMean: mu, userBiases: userBiases, itemBiases: itemBiases, userKnown: userKnown,
      itemKnown: itemKnown)
  }

  public func predict(user: Int32, item: Int32) -> Prediction {
    let isUserKnown = user >= 0 && Int(user) < userCount && userKnown[Int(user)]
    let isItemKnown = item >= 0 && Int(item) < itemCount && itemKnown[Int(item)]
    var value = globalMean
    if isUserKnown { value += userBiases[Int(user)] }
    if isItemKnown { value += itemBiases[Int(item)] }
    return Prediction(value, fallback: Fallback(userKnown: isUserKnown, itemKnown: isItemKnown))
  }

  public func scoreAll(users: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count >= users.count * itemCount, "output too small")
    var position = 0
    for user in users {
      let userTerm = globalMean + (userKnown[user] ? userBiases[user] : 0)
      for item in 0..<itemCount {
        output[position] = Float(userTerm + itemBiases[item])
        position += 1
      }
    }
  }

  /// `base(u, i) = (mu + b_u) * 1 + 1 * b_i`, exact for every pair.
  public func scoreBasis() -> ScoreBasis? {
    var userTerms: [Float] = []
    userTerms.reserveCapacity(userCount * 2)
    for user in 0..<userCount {
      userTerms += [Float(globalMean + (userKnown[user] ? userBiases[user] : 0)), 1]
    }
    var itemTerms: [Float] = []
    itemTerms.reserveCapacity(itemCount * 2)
    for item in 0..<itemCount {
      itemTerms += [1, Float(itemKnown[item] ? itemBiases[item] : 0)]
    }
    return ScoreBasis(rank: 2, userTerms: userTerms, itemTerms: itemTerms)
  }
}
