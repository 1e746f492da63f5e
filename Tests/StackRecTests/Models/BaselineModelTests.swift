import Testing

@testable import StackRec

@Suite struct BaselineModelTests {
  // Users 0-2 rate items 0-2, and user 3 and item 3 have no ratings.
  //
  //           item 0  item 1  item 2
  //   user 0     5       4       .
  //   user 1     3       .       1
  //   user 2     .       2       3
  //
  // mu = 18 / 6 = 3. Every user and item has two ratings.
  static let handExample = makeTrainingSet(
    [(0, 0, 5), (0, 1, 4), (1, 0, 3), (1, 2, 1), (2, 1, 2), (2, 2, 3)],
    userCount: 4, itemCount: 4)

  /// lambda_i = 1 and lambda_u = 2, so the denominators are 3 for items
  /// and 4 for users.
  static func configuration(passes: Int) -> BaselineModel.Configuration {
    var configuration = BaselineModel.Configuration()
    configuration.passes = passes
    configuration.itemRegularization = 1
    configuration.userRegularization = 2
    return configuration
  }

  // MARK: - Hand-computed passes

  @Test func onePassMatchesHandArithmetic() {
    // Items first, with b_u = 0:
    //   b_i0 = ((5 - 3) + (3 - 3)) / 3 = 2/3
    //   b_i1 = ((4 - 3) + (2 - 3)) / 3 = 0
    //   b_i2 = ((1 - 3) + (3 - 3)) / 3 = -2/3
    // Then users:
    //   b_u0 = ((5 - 3 - 2/3) + (4 - 3 - 0)) / 4 = (7/3) / 4 = 7/12
    //   b_u1 = ((3 - 3 - 2/3) + (1 - 3 + 2/3)) / 4 = -2 / 4 = -1/2
    //   b_u2 = ((2 - 3 - 0) + (3 - 3 + 2/3)) / 4 = (-1/3) / 4 = -1/12
    let model = BaselineModel.fit(Self.handExample, configuration: Self.configuration(passes: 1))
    let expectedItems = [2.0 / 3, 0, -2.0 / 3, 0]
    let expectedUsers = [7.0 / 12, -1.0 / 2, -1.0 / 12, 0]

    #expect(model.globalMean == 3)
    for item in 0..<4 {
      #expect(isClose(model.itemBiases[item], expectedItems[item]), "item \(item)")
    }
    for user in 0..<4 {
      #expect(isClose(model.userBiases[user], expectedUsers[user]), "user \(user)")
    }
  }

  @Test func twoPassesMatchHandArithmetic() {
    // The second item step starts from the first pass's user biases
    // (7/12, -1/2, -1/12):
    //   b_i0 = ((5 - 3 - 7/12) + (3 - 3 + 1/2)) / 3 = (23/12) / 3 = 23/36
    //   b_i1 = ((4 - 3 - 7/12) + (2 - 3 + 1/12)) / 3 = (-1/2) / 3 = -1/6
    //   b_i2 = ((1 - 3 + 1/2) + (3 - 3 + 1/12)) / 3 = (-17/12) / 3 = -17/36
    //   b_u0 = ((5 - 3 - 23/36) + (4 - 3 + 1/6)) / 4 = (91/36) / 4 = 91/144
    //   b_u1 = ((3 - 3 - 23/36) + (1 - 3 + 17/36)) / 4 = (-78/36) / 4 = -13/24
    //   b_u2 = ((2 - 3 + 1/6) + (3 - 3 + 17/36)) / 4 = (-13/36) / 4 = -13/144
    let model = BaselineModel.fit(Self.handExample, configuration: Self.configuration(passes: 2))
    let expectedItems = [23.0 / 36, -1.0 / 6, -17.0 / 36]
    let expectedUsers = [91.0 / 144, -13.0 / 24, -13.0 / 144]

    for item in 0..<3 {
      #expect(isClose(model.itemBiases[item], expectedItems[item]), "item \(item)")
    }
    for user in 0..<3 {
      #expect(isClose(model.userBiases[user], expectedUsers[user]), "user \(user)")
    }
  }

  @Test func predictionAddsBothBiases() {
    // After two passes: 3 + 91/144 + (-17/36) = 3 + 23/144.
    let model = BaselineModel.fit(Self.handExample, configuration: Self.configuration(passes: 2))
    let prediction = model.predict(user: 0, item: 2)

    #expect(isClose(prediction.value, 3 + 23.0 / 144))
    #expect(prediction.fallback == .none)
  }

  @Test func unknownSideContributesZero() {
    // Item 3 and user 3 have no ratings: their biases are 0 and the known
    // side's bias is kept.
    let model = BaselineModel.fit(Self.handExample, configuration: Self.configuration(passes: 2))

    #expect(model.predict(user: 0, item: 3) == Prediction(3 + 91.0 / 144, fallback: .unknownItem))
    #expect(model.predict(user: 3, item: 0) == Prediction(3 + 23.0 / 36, fallback: .unknownUser))
    #expect(model.predict(user: -1, item: 9) == Prediction(3, fallback: .unknownUserAndItem))
  }

  @Test func zeroPassesLeaveBiasesZero() {
    let model = BaselineModel.fit(Self.handExample, configuration: Self.configuration(passes: 0))

    #expect(model.userBiases == [0, 0, 0, 0])
    #expect(model.itemBiases == [0, 0, 0, 0])
    #expect(model.predict(user: 0, item: 0) == Prediction(3))
  }

  // MARK: - Shrinkage

  // Item 0 is rated 5 by ten users, item 1 is rated 5 by one of them, and
  // item 2 is rated 1 by all ten. mu = (55 + 10) / 21 = 65 / 21, so items 0
  // and 1 share the plain mean deviation 5 - mu.
  static let denseAndSparse: TrainingSet = {
    var triples: [(Int32, Int32, Float)] = []
    for user in Int32(0)..<10 {
      triples.append((user, 0, 5))
      triples.append((user, 2, 1))
    }
    triples.append((0, 1, 5))
    return makeTrainingSet(triples, userCount: 10, itemCount: 3)
  }()

  @Test func penaltyShrinksSparseItemMore() {
    // One pass starts with b_u = 0, so b_i = n_i (5 - mu) / (lambda_i + n_i):
    // the item with one rating keeps 1/11 of its deviation, the item with
    // ten ratings 10/20.
    var configuration = BaselineModel.Configuration()
    configuration.passes = 1
    let model = BaselineModel.fit(Self.denseAndSparse, configuration: configuration)
    let deviation = 5 - 65.0 / 21

    #expect(isClose(model.itemBiases[0], deviation * 10 / 20))
    #expect(isClose(model.itemBiases[1], deviation * 1 / 11))
  }

  @Test func defaultPenaltyKeepsSparseBiasSmaller() {
    let model = BaselineModel.fit(Self.denseAndSparse)

    #expect(model.itemBiases[1] > 0)
    #expect(model.itemBiases[1] < model.itemBiases[0])
  }

  @Test func zeroPenaltyGivesMeanDeviations() {
    // With no penalty the first item step gives each item its plain mean
    // deviation, whatever its rating count.
    var configuration = BaselineModel.Configuration()
    configuration.passes = 1
    configuration.itemRegularization = 0
    configuration.userRegularization = 0
    let model = BaselineModel.fit(Self.denseAndSparse, configuration: configuration)
    let deviation = 5 - 65.0 / 21

    #expect(isClose(model.itemBiases[0], deviation))
    #expect(isClose(model.itemBiases[1], deviation))
  }

  @Test func penaltyShrinksSparseUserMore() {
    // Users 0 and 2 rate items 0-9, 5 and 1 each; user 1 rates item 0 only,
    // with 5. mu = (50 + 5 + 10) / 21 = 65 / 21. With lambda_i = 0 the item
    // step gives plain mean deviations:
    //   b_i0 = 11/3 - 65/21 = 4/7, b_i1..9 = 3 - 65/21 = -2/21.
    // The user step divides by lambda_u + n_u = 15 + n_u:
    //   b_u0 = ((5 - 65/21 - 4/7) + 9 (5 - 65/21 + 2/21)) / 25 = (4/3 + 18) / 25 = 58/75
    //   b_u1 = (5 - 65/21 - 4/7) / 16 = (4/3) / 16 = 1/12
    // so user 0 keeps 10/25 of its mean residual 29/15 and user 1 only 1/16
    // of its 4/3.
    var triples: [(Int32, Int32, Float)] = [(1, 0, 5)]
    for item in Int32(0)..<10 {
      triples.append((0, item, 5))
      triples.append((2, item, 1))
    }
    let training = makeTrainingSet(triples, userCount: 3, itemCount: 10)
    var configuration = BaselineModel.Configuration()
    configuration.passes = 1
    configuration.itemRegularization = 0
    let model = BaselineModel.fit(training, configuration: configuration)

    #expect(isClose(model.itemBiases[0], 4.0 / 7))
    #expect(isClose(model.itemBiases[1], -2.0 / 21))
    #expect(isClose(model.userBiases[0], 58.0 / 75))
    #expect(isClose(model.userBiases[1], 1.0 / 12))
  }
}
