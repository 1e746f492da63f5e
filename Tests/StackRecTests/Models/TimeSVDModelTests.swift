import Testing

@testable import StackRec

@Suite struct TimeSVDModelTests {
  static let secondsPerDay: Int64 = 86_400

  /// Returns a timestamp one hour into `day`.
  static func time(day: Int) -> Int64 {
    Int64(day) * secondsPerDay + 3_600
  }

  /// Builds a training set from `(user, item, value, day)` rows.
  static func timedTraining(
    _ rows: [(Int32, Int32, Float, Int)], userCount: Int, itemCount: Int
  ) -> TrainingSet {
    let ratings = Ratings(
      users: rows.map(\.0), items: rows.map(\.1), values: rows.map(\.2),
      timestamps: rows.map { time(day: $0.3) })
    return TrainingSet(ratings: ratings, userCount: userCount, itemCount: itemCount)
  }

  /// Returns a configuration of one epoch with every step size 0 and zero
  /// factors from a zero initialisation, so a test turns on one term at a time.
  static func singleTermConfiguration() -> TimeSVDModel.Configuration {
    var configuration = TimeSVDModel.Configuration()
    configuration.factors = 1
    configuration.epochs = 1
    configuration.initStandardDeviation = 0
    configuration.learningRate = 0
    configuration.biasLearningRate = 0
    configuration.dayLearningRate = 0
    configuration.driftLearningRate = 0
    configuration.binLearningRate = 0
    return configuration
  }

  // MARK: - Calendar helpers

  @Test(arguments: [
    (8, 1.0 / 3, 2), (-8, 1.0 / 3, -2), (32, 0.4, 4), (-32, 0.4, -4), (0, 0.4, 0), (16, 0.5, 4),
  ] as [(Double, Double, Double)])
  func deviationKeepsSignOfDifference(difference: Double, beta: Double, expected: Double) {
    // sign(d) * |d|^beta: 8^(1/3) = 2, 32^0.4 = 2^2 = 4, 16^0.5 = 4.
    let value = TimeSVDModel.deviationValue(difference, beta: beta)

    #expect(isClose(value, expected, tolerance: 1e-12))
  }

  @Test(arguments: [
    (0, 0), (86_399, 0), (86_400, 1), (2 * 86_400 + 5, 2), (-1, -1), (-86_400, -1),
  ] as [(Int64, Int)])
  func dayRoundsTimestampDown(timestamp: Int64, expected: Int) {
    #expect(TimeSVDModel.day(of: timestamp) == expected)
  }

  @Test func daySlotFindsOnlyTrainingDays() {
    // User 0 rated on days 3, 5 and 9, user 1 on day 2.
    let days: [Int32] = [3, 5, 9, 2]
    let offsets = [0, 3, 4]

    #expect(TimeSVDModel.daySlot(days, offsets, user: 0, day: 3) == 0)
    #expect(TimeSVDModel.daySlot(days, offsets, user: 0, day: 5) == 1)
    #expect(TimeSVDModel.daySlot(days, offsets, user: 0, day: 9) == 2)
    #expect(TimeSVDModel.daySlot(days, offsets, user: 0, day: 4) == nil)
    #expect(TimeSVDModel.daySlot(days, offsets, user: 0, day: 10) == nil)
    #expect(TimeSVDModel.daySlot(days, offsets, user: 0, day: 2) == nil)
    #expect(TimeSVDModel.daySlot(days, offsets, user: 1, day: 2) == 3)
    #expect(TimeSVDModel.daySlot(days, offsets, user: 1, day: 3) == nil)
  }

  @Test func fitRecordsCalendar() {
    // Ratings on days 4, 6 and 13: user 0's days are [4, 13] with mean
    // (4 + 13) / 2 = 8.5, user 1's [6]. Ten days in 5 bins are 2 days wide.
    let training = Self.timedTraining(
      [(0, 0, 4, 4), (0, 1, 3, 13), (1, 0, 2, 6)], userCount: 2, itemCount: 2)
    var configuration = Self.singleTermConfiguration()
    configuration.timeBins = 5
    let model = TimeSVDModel.fit(training, configuration: configuration)

    #expect(model.firstDay == 4)
    #expect(model.binWidth == 2)
    #expect(model.days == [4, 13, 6])
    #expect(model.dayOffsets == [0, 2, 3])
    #expect(model.meanDays == [8.5, 6])
  }

  // MARK: - Hand-computed terms

  @Test func zeroEpochsGiveMeanPlusFactors() {
    // Before training every bias and drift is 0, so at any time
    // r_hat = mu + dot(p_u, q_i), with p and q the seeded generator's first
    // Gaussian draws: all user factors, then all item factors.
    let training = TrainingSet(
      ratings: randomRatings(userCount: 8, itemCount: 6, density: 0.6, seed: 12),
      userCount: 8, itemCount: 6)
    var configuration = TimeSVDModel.Configuration()
    configuration.factors = 3
    configuration.epochs = 0
    configuration.seed = 5
    let model = TimeSVDModel.fit(training, configuration: configuration)
    var generator = SeededGenerator(seed: 5)
    let p = (0..<8 * 3).map { _ in generator.nextGaussian(standardDeviation: 0.1) }
    let q = (0..<6 * 3).map { _ in generator.nextGaussian(standardDeviation: 0.1) }

    for (user, item) in [(0, 0), (3, 4), (6, 1)] {
      var expected = training.globalMean
      for f in 0..<3 { expected += p[user * 3 + f] * q[item * 3 + f] }
      let atTime = model.predict(user: Int32(user), item: Int32(item), timestamp: Self.time(day: 40))
      let withoutTime = model.predict(user: Int32(user), item: Int32(item))
      #expect(isClose(atTime.value, expected, tolerance: 1e-12), "user \(user), item \(item)")
      #expect(isClose(withoutTime.value, expected, tolerance: 1e-12), "user \(user), item \(item)")
    }
  }

  @Test func dayBiasOnlyOnTrainingDays() {
    // User 0 rates item 0 5 on day 3 and item 1 1 on day 5, so mu = 3. With
    // only the day biases learning, at step 1 and no penalty, one epoch sets
    // b_{u,3} = 1 * (5 - 3) = 2 and b_{u,5} = 1 * (1 - 3) = -2.
    let training = Self.timedTraining([(0, 0, 5, 3), (0, 1, 1, 5)], userCount: 1, itemCount: 2)
    var configuration = Self.singleTermConfiguration()
    configuration.dayLearningRate = 1
    configuration.dayRegularization = 0
    let model = TimeSVDModel.fit(training, configuration: configuration)

    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 3)).value, 5))
    #expect(isClose(model.predict(user: 0, item: 1, timestamp: Self.time(day: 3)).value, 5))
    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 5)).value, 1))
    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 4)).value, 3))
    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 30)).value, 3))
  }

  @Test func servingUsesUsersLastDay() {
    // Without a time the prediction is made on the user's last training
    // day, day 5 in the example above, whose bias is -2.
    let training = Self.timedTraining([(0, 0, 5, 3), (0, 1, 1, 5)], userCount: 1, itemCount: 2)
    var configuration = Self.singleTermConfiguration()
    configuration.dayLearningRate = 1
    configuration.dayRegularization = 0
    let model = TimeSVDModel.fit(training, configuration: configuration)
    let prediction = model.predict(user: 0, item: 0)

    #expect(isClose(prediction.value, 1))
    #expect(prediction.fallback == .none)
  }

  @Test func driftFollowsDeviationFromMeanDay() {
    // User 0 rates item 0 1 on day 0 and item 1 5 on day 8: mu = 3, mean
    // day 4, and with beta = 0.5 the deviations are -2 and +2. With only
    // alpha learning (step 0.125, no penalty), in either visiting order:
    //   first rating:  e = -2 or 2, alpha = 0.125 * (e * dev) = 0.5
    //   second rating: r_hat = 3 + 0.5 * dev, e = -1 or 1,
    //                  alpha = 0.5 + 0.125 * (e * dev) = 0.75
    // so r_hat(t) = 3 + 0.75 * sign(t - 4) * sqrt(|t - 4|).
    let training = Self.timedTraining([(0, 0, 1, 0), (0, 1, 5, 8)], userCount: 1, itemCount: 2)
    var configuration = Self.singleTermConfiguration()
    configuration.beta = 0.5
    configuration.driftLearningRate = 0.125
    configuration.driftRegularization = 0
    let model = TimeSVDModel.fit(training, configuration: configuration)

    #expect(isClose(model.drifts[0], 0.75))
    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 4)).value, 3))
    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 0)).value, 1.5))
    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 20)).value, 6))
    #expect(isClose(model.predict(user: 0, item: 0).value, 4.5))
  }

  @Test func itemBinsSplitTrainingPeriod() {
    // Item 0 is rated 5 by user 0 on day 0 and 1 by user 1 on day 9: ten
    // days in two bins of five. With only the bin biases learning (step 1,
    // no penalty), b_{0,bin 0} = 2 and b_{0,bin 1} = -2. Days before the
    // period use the first bin and days after it the last.
    let training = Self.timedTraining([(0, 0, 5, 0), (1, 0, 1, 9)], userCount: 2, itemCount: 1)
    var configuration = Self.singleTermConfiguration()
    configuration.timeBins = 2
    configuration.binLearningRate = 1
    configuration.binRegularization = 0
    let model = TimeSVDModel.fit(training, configuration: configuration)

    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 4)).value, 5))
    #expect(isClose(model.predict(user: 0, item: 0, timestamp: Self.time(day: 5)).value, 1))
    #expect(isClose(model.predict(user: 1, item: 0, timestamp: Self.time(day: -3)).value, 5))
    #expect(isClose(model.predict(user: 1, item: 0, timestamp: Self.time(day: 50)).value, 1))
  }

  @Test func binsWithoutTimeFollowLastDay() {
    // In the example above user 0's last day is 0 (bin 0) and user 1's is 9
    // (bin 1). An unknown user gets the item's terms on the last day.
    let training = Self.timedTraining([(0, 0, 5, 0), (1, 0, 1, 9)], userCount: 3, itemCount: 1)
    var configuration = Self.singleTermConfiguration()
    configuration.timeBins = 2
    configuration.binLearningRate = 1
    configuration.binRegularization = 0
    let model = TimeSVDModel.fit(training, configuration: configuration)

    #expect(isClose(model.predict(user: 0, item: 0).value, 5))
    #expect(isClose(model.predict(user: 1, item: 0).value, 1))
    #expect(model.predict(user: 2, item: 0) == Prediction(1, fallback: .unknownUser))
    #expect(model.predict(user: -1, item: 0) == Prediction(1, fallback: .unknownUser))
    let early = model.predict(user: -1, item: 0, timestamp: Self.time(day: 1))
    #expect(early == Prediction(5, fallback: .unknownUser))
  }

  @Test func unknownUserUsesLastDaysBin() {
    // Fifteen days in 11 bins: the width is 15/11, so day 14 is in bin
    // floor(14 * 11 / 15) = 10 and day 13 in bin floor(13 * 11 / 15) = 9.
    // Item 0 is rated 5 on day 14 and 1 on day 0 (bin 0); with only the bin
    // biases learning, b_{0,bin 10} = 2. Without a time, an unknown user
    // must get the last day's bin, as a rating on day 14 does.
    let training = Self.timedTraining([(0, 0, 5, 14), (1, 0, 1, 0)], userCount: 2, itemCount: 1)
    var configuration = Self.singleTermConfiguration()
    configuration.timeBins = 11
    configuration.binLearningRate = 1
    configuration.binRegularization = 0
    let model = TimeSVDModel.fit(training, configuration: configuration)
    let lastDay = model.predict(user: -1, item: 0, timestamp: Self.time(day: 14))

    #expect(isClose(lastDay.value, 5))
    #expect(model.predict(user: -1, item: 0) == lastDay)
  }

  // MARK: - Scoring paths

  @Test func batchPredictUsesTimestamps() {
    let training = Self.timedTraining(
      [(0, 0, 5, 3), (0, 1, 1, 5), (1, 0, 4, 1), (1, 1, 2, 7)], userCount: 3, itemCount: 3)
    var configuration = TimeSVDModel.Configuration()
    configuration.factors = 2
    configuration.epochs = 5
    configuration.dayLearningRate = 0.5
    let model = TimeSVDModel.fit(training, configuration: configuration)
    let pairs = allPairs(userCount: 3, itemCount: 3)
    let days = pairs.users.indices.map { $0 % 9 }
    let times = days.map { Self.time(day: $0) }
    let timed = model.predict(users: pairs.users, items: pairs.items, timestamps: times)
    let untimed = model.predict(users: pairs.users, items: pairs.items, timestamps: nil)

    for position in pairs.users.indices {
      let user = pairs.users[position]
      let item = pairs.items[position]
      let atTime = model.predict(user: user, item: item, timestamp: times[position]).value
      let withoutTime = model.predict(user: user, item: item).value
      #expect(timed[position] == atTime, "user \(user), item \(item), day \(days[position])")
      #expect(untimed[position] == withoutTime, "user \(user), item \(item)")
    }
  }
}
