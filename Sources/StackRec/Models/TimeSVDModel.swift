import Glibc

/// Matrix factorisation with time-dependent biases ("timeSVD").
///
/// ```
/// r_hat(u, i, t) = mu + b_u + alpha_u * dev_u(t) + b_{u,day(t)}
///                     + b_i + b_{i,bin(t)} + dot(p_u, q_i)
/// dev_u(t)       = sign(t - t_u) * |t - t_u|^beta      (t in days)
/// ```
///
/// `t_u` is the mean day of the user's training ratings, so `alpha_u`
/// captures a gradual drift of the user's bias; `b_{u,day}` is a bias for
/// each day on which the user rated (the mood of one session); `b_{i,bin}`
/// lets an item's bias move across `timeBins` equal slices of the training
/// period. All terms are fitted together by stochastic gradient descent,
/// each group with its own step and penalty. Source: Yehuda Koren,
/// "Collaborative Filtering with Temporal Dynamics", KDD 2009, sections 4.1
/// (equations 6-10, beta = 0.4, 30 bins) and 4.2 (the factor part).
///
/// A day on which the user has no training rating has no day bias. Scores
/// without a time, as stored for serving, use each user's last training
/// day, so they carry the user's latest drift and session bias; the item
/// bin is the last bin.
///
/// An unknown user gets `mu + b_i + b_{i,bin(t)}`; an unknown item gets the
/// user's terms on `mu`.
///
/// - Complexity: fitting is O(epochs * ratings * factors); prediction is
///   O(factors + log days of the user).
public struct TimeSVDModel: RatingModel {
  public struct Configuration: Sendable, Equatable {
    public var factors = 20
    public var epochs = 25
    public var learningRate = 0.007
    public var regularization = 0.03
    public var biasLearningRate = 0.005
    public var biasRegularization = 0.005
    /// Step and penalty of the per-day user biases.
    public var dayLearningRate = 0.005
    public var dayRegularization = 0.05
    /// Step and penalty of the drift coefficients `alpha_u`.
    public var driftLearningRate = 1e-5
    public var driftRegularization = 10.0
    /// Step and penalty of the item bin biases.
    public var binLearningRate = 0.001
    public var binRegularization = 0.1
    public var timeBins = 30
    public var beta = 0.4
    public var initStandardDeviation = 0.1
    public var seed: UInt64 = 42

    public init() {}
  }

  public static let key = "timesvd"
  public var key: String { Self.key }

  public let configuration: Configuration
  public let globalMean: Double
  let userBiases: [Double]
  let itemBiases: [Double]
  let drifts: [Double]
  let meanDays: [Double]
  /// The user's training days, ascending, at `dayOffsets[u]..<dayOffsets[u + 1]`.
  let dayOffsets: [Int]
  let days: [Int32]
  let dayBiases: [Double]
  /// `itemCount` rows of `timeBins` biases.
  let binBiases: [Double]
  let firstDay: Int
  let binWidth: Double
  let userFactors: [Double]
  let itemFactors: [Double]
  let userKnown: [Bool]
  let itemKnown: [Bool]

  public var userCount: Int { userBiases.count }
  public var itemCount: Int { itemBiases.count }

  static func day(of timestamp: Int64) -> Int {
    Int((Double(timestamp) / 86_400).rounded(.down))
  }

  public static func fit(_ training: TrainingSet, configuration: Configuration = Configuration())
    -> TimeSVDModel
  {
    let factors = configuration.factors
    let ratings = training.ratings
    let byUser = training.byUser
    let bins = max(configuration.timeBins, 1)

    // The calendar: each user's days and mean day, and the bin width.
    let ratingDays = ratings.timestamps.map { day(of: $0) }
    let firstDay = ratingDays.min() ?? 0
    let lastDay = ratingDays.max() ?? 0
    let binWidth = Double(lastDay - firstDay + 1) / Double(bins)
    var dayOffsets = [0]
    var days: [Int32] = []
    var meanDays = [Double](repeating: 0, count: training.userCount)
    for user in 0..<training.userCount {
      let range = byUser.range(ofRow: user)
      var userDays = range.map { ratingDays[Int(byUser.sources[$0])] }
      if !userDays.isEmpty {
        meanDays[user] = Double(userDays.reduce(0, +)) / Double(userDays.count)
      }
      userDays.sort()
      var previous = Int.min
      for value in userDays where value != previous {
        days.append(Int32(value))
        previous = value
      }
      dayOffsets.append(days.count)
    }

    var generator = SeededGenerator(seed: configuration.seed)
    let sigma = configuration.initStandardDeviation
    var p = (0..<training.userCount * factors).map { _ in generator.nextGaussian(standardDeviation: sigma) }
    var q = (0..<training.itemCount * factors).map { _ in generator.nextGaussian(standardDeviation: sigma) }
    var bu = [Double](repeating: 0, count: training.userCount)
    var bi = [Double](repeating: 0, count: training.itemCount)
    var alpha = [Double](repeating: 0, count: training.userCount)
    var but = [Double](repeating: 0, count: days.count)
    var bibin = [Double](repeating: 0, count: training.itemCount * bins)
    let mu = training.globalMean
    let c = configuration

    // Per rating: its day-bias slot, bin and deviation, computed once.
    var slots = [Int](repeating: 0, count: ratings.count)
    var binOf = [Int](repeating: 0, count: ratings.count)
    var deviation = [Double](repeating: 0, count: ratings.count)
    for row in 0..<ratings.count {
      let user = Int(ratings.users[row])
      let value = ratingDays[row]
      slots[row] = daySlot(days, dayOffsets, user: user, day: value)!
      binOf[row] = min(Int(Double(value - firstDay) / binWidth), bins - 1)
      deviation[row] = deviationValue(Double(value) - meanDays[user], beta: c.beta)
    }

    // Shuffled as packed records, read sequentially each epoch; the same
    // swaps give the same visiting order as shuffling row numbers.
    var records = (0..<ratings.count).map { row in
      TimedRecord(
        user: ratings.users[row], item: ratings.items[row], value: ratings.values[row],
        slot: Int32(slots[row]), bin: Int32(binOf[row]), deviation: deviation[row])
    }
    for _ in 0..<c.epochs {
      generator.shuffle(&records)
      records.withUnsafeBufferPointer { records in
        p.withUnsafeMutableBufferPointer { p in
          q.withUnsafeMutableBufferPointer { q in
            bu.withUnsafeMutableBufferPointer { bu in
              bi.withUnsafeMutableBufferPointer { bi in
                alpha.withUnsafeMutableBufferPointer { alpha in
                  but.withUnsafeMutableBufferPointer { but in
                    bibin.withUnsafeMutableBufferPointer { bibin in
                      for record in records {
                        let u = Int(record.user)
                        let i = Int(record.item)
                        let slot = Int(record.slot)
                        let binIndex = i * bins + Int(record.bin)
                        let dev = record.deviation
                        let pu = p.baseAddress! + u * factors
                        let qi = q.baseAddress! + i * factors
                        var dot = 0.0
                        for f in 0..<factors { dot += pu[f] * qi[f] }
                        let prediction =
                          mu + bu[u] + alpha[u] * dev + but[slot] + bi[i] + bibin[binIndex] + dot
                        let error = Double(record.value) - prediction
                        bu[u] += c.biasLearningRate * (error - c.biasRegularization * bu[u])
                        bi[i] += c.biasLearningRate * (error - c.biasRegularization * bi[i])
                        alpha[u] += c.driftLearningRate * (error * dev - c.driftRegularization * alpha[u])
                        but[slot] += c.dayLearningRate * (error - c.dayRegularization * but[slot])
                        bibin[binIndex] +=
                          c.binLearningRate * (error - c.binRegularization * bibin[binIndex])
                        for f in 0..<factors {
                          let puf = pu[f]
                          let qif = qi[f]
                          pu[f] = puf + c.learningRate * (error * qif - c.regularization * puf)
                          qi[f] = qif + c.learningRate * (error * puf - c.regularization * qif)
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    return TimeSVDModel(
      configuration: configuration, globalMean: mu, userBiases: bu, itemBiases: bi, drifts: alpha,
      meanDays: meanDays, dayOffsets: dayOffsets, days: days, dayBiases: but, binBiases: bibin,
      firstDay: firstDay, binWidth: binWidth, userFactors: p, itemFactors: q,
      userKnown: (0..<training.userCount).map { training.isKnown(user: Int32($0)) },
      itemKnown: (0..<training.itemCount).map { training.isKnown(item: Int32($0)) })
  }

  /// The position of `day` in the user's day list, or nil.
  static func daySlot(_ days: [Int32], _ offsets: [Int], user: Int, day: Int) -> Int? {
    var low = offsets[user]
    var high = offsets[user + 1]
    while low < high {
      let middle = (low + high) / 2
      if Int(days[middle]) < day { low = middle + 1 } else { high = middle }
    }
    return low < offsets[user + 1] && Int(days[low]) == day ? low : nil
  }

  static func deviationValue(_ difference: Double, beta: Double) -> Double {
    guard difference != 0 else { return 0 }
    let magnitude = pow(abs(difference), beta)
    return difference > 0 ? magnitude : -magnitude
  }

  /// Predicts at `timestamp`, or at the user's last training day when nil.
  public func predict(user: Int32, item: Int32, timestamp: Int64?) -> Prediction {
    let isUserKnown = user >= 0 && Int(user) < userCount && userKnown[Int(user)]
    let isItemKnown = item >= 0 && Int(item) < itemCount && itemKnown[Int(item)]
    let u = Int(user)
    let i = Int(item)
    let bins = max(configuration.timeBins, 1)
    var value = globalMean
    var ratingDay: Int
    if let timestamp {
      ratingDay = Self.day(of: timestamp)
    } else if isUserKnown {
      ratingDay = Int(days[dayOffsets[u + 1] - 1])
    } else {
      // The last training day. binWidth * bins is the period's length in
      // days only up to rounding (15 / 11 * 11 is just below 15), so round it.
      ratingDay = firstDay + Int((binWidth * Double(bins)).rounded()) - 1
    }
    if isUserKnown {
      value += userBiases[u]
      value += drifts[u] * Self.deviationValue(Double(ratingDay) - meanDays[u], beta: configuration.beta)
      if let slot = Self.daySlot(days, dayOffsets, user: u, day: ratingDay) { value += dayBiases[slot] }
    }
    if isItemKnown {
      let bin = min(max(Int(Double(ratingDay - firstDay) / binWidth), 0), bins - 1)
      value += itemBiases[i] + binBiases[i * bins + bin]
    }
    if isUserKnown && isItemKnown {
      let factors = configuration.factors
      for f in 0..<factors { value += userFactors[u * factors + f] * itemFactors[i * factors + f] }
    }
    return Prediction(value, fallback: Fallback(userKnown: isUserKnown, itemKnown: isItemKnown))
  }

  public func predict(user: Int32, item: Int32) -> Prediction {
    predict(user: user, item: item, timestamp: nil)
  }

  public func predict(users: [Int32], items: [Int32], timestamps: [Int64]?) -> [Double] {
    (0..<users.count).map {
      predict(user: users[$0], item: items[$0], timestamp: timestamps?[$0]).value
    }
  }
}

/// One training rating with its precomputed time terms, packed for
/// sequential SGD passes.
struct TimedRecord {
  var user: Int32
  var item: Int32
  var value: Float
  var slot: Int32
  var bin: Int32
  var deviation: Double
}
