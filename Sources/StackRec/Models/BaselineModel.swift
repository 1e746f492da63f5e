/// The baseline predictor with regularised biases, fitted by alternating
/// least squares.
///
/// ```
/// r_hat(u, i) = mu + b_u + b_i
/// ```
///
/// The biases minimise
/// `sum (r_ui - mu - b_u - b_i)^2 + lambda_u * sum b_u^2 + lambda_i * sum b_i^2`
/// by alternating closed-form steps, item biases first:
///
/// ```
/// b_i = sum_{u in R(i)} (r_ui - mu - b_u) / (lambda_i + |R(i)|)
/// b_u = sum_{i in R(u)} (r_ui - mu - b_i) / (lambda_u + |R(u)|)
/// ```
///
/// The penalties shrink the biases of users and items with few ratings
/// toward 0. Source: Yehuda Koren, "Factorization Meets the Neighborhood: a
/// Multifaceted Collaborative Filtering Model", KDD 2008, section 2.1
/// (equation 2); the alternating schedule and the defaults (10 passes,
/// lambda_i = 10, lambda_u = 15) are those of the Surprise library's
/// `BaselineOnly`, so results can be compared with it.
///
/// An unknown user or item contributes 0.
///
/// - Complexity: fitting is O(passes * ratings); prediction is O(1).
public struct BaselineModel: RatingModel {
  public struct Configuration: Sendable, Equatable {
    /// Alternating passes (default 10).
    public var passes = 10
    /// The penalty `lambda_i` on item biases (default 10).
    public var itemRegularization = 10.0
    /// The penalty `lambda_u` on user biases (default 15).
    public var userRegularization = 15.0

    public init() {}
  }

  public static let key = "baseline"
  public var key: String { Self.key }

  public let configuration: Configuration
  public let globalMean: Double
  public let userBiases: [Double]
  public let itemBiases: [Double]
  let userKnown: [Bool]
  let itemKnown: [Bool]

  public var userCount: Int { userBiases.count }
  public var itemCount: Int { itemBiases.count }

  public static func fit(_ training: TrainingSet, configuration: Configuration = Configuration())
    -> BaselineModel
  {
    let (bu, bi) = fitBiases(training, configuration: configuration)
    return BaselineModel(
      configuration: configuration, globalMean: training.globalMean, userBiases: bu,
      itemBiases: bi,
      userKnown: (0..<training.userCount).map { training.isKnown(user: Int32($0)) },
      itemKnown: (0..<training.itemCount).map { training.isKnown(item: Int32($0)) })
  }

  /// The alternating least squares fit of the user and item biases, shared
  /// with the models that start from a baseline.
  static func fitBiases(_ training: TrainingSet, configuration: Configuration)
    -> (users: [Double], items: [Double])
  {
    let mu = training.globalMean
    var bu = [Double](repeating: 0, count: training.userCount)
    var bi = [Double](repeating: 0, count: training.itemCount)
    let byItem = training.byItem
    let byUser = training.byUser
    for _ in 0..<configuration.passes {
      for item in 0..<training.itemCount {
        let range = byItem.range(ofRow: item)
        guard !range.isEmpty else { continue }
        var sum = 0.0
        for entry in range {
          sum += Double(byItem.values[entry]) - mu - bu[Int(byItem.columns[entry])]
        }
        bi[item] = sum / (configuration.itemRegularization + Double(range.count))
      }
      for user in 0..<training.userCount {
        let range = byUser.range(ofRow: user)
        guard !range.isEmpty else { continue }
        var sum = 0.0
        for entry in range {
          sum += Double(byUser.values[entry]) - mu - bi[Int(byUser.columns[entry])]
        }
        bu[user] = sum / (configuration.userRegularization + Double(range.count))
      }
    }
    return (bu, bi)
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
      let userTerm = globalMean + userBiases[user]
      for item in 0..<itemCount {
        output[position] = Float(userTerm + itemBiases[item])
        position += 1
      }
    }
  }

  /// `base(u, i) = (mu + b_u) * 1 + 1 * b_i`, exact for every pair.
  public func scoreBasis() -> ScoreBasis? {
    ScoreBasis(
      rank: 2, userTerms: userBiases.flatMap { [Float(globalMean + $0), 1] },
      itemTerms: itemBiases.flatMap { [1, Float($0)] })
  }
}
