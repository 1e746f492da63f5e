import Testing

@testable import StackRec

@Suite struct BiasModelTests {
  // Users 0-2 rate items 0-2; user 3 and item 3 exist in the index space but
  // have no ratings.
  //
  //          item 0  item 1  item 2   user mean
  //   user 0    5       4       .       4.5
  //   user 1    3       .       1       2
  //   user 2    .       2       3       2.5
  //   item mean 4       3       2
  //
  // mu = (5 + 4 + 3 + 1 + 2 + 3) / 6 = 3
  // b_u = (1.5, -1, -0.5) and b_i = (1, 0, -1): each mean minus mu.
  static let training = makeTrainingSet(
    [(0, 0, 5), (0, 1, 4), (1, 0, 3), (1, 2, 1), (2, 1, 2), (2, 2, 3)],
    userCount: 4, itemCount: 4)

  let model = BiasModel.fit(BiasModelTests.training)

  @Test func globalMeanIsMeanRating() {
    #expect(model.globalMean == 3)
  }

  @Test func userBiasesAreMeanDeviations() {
    #expect(model.userBiases == [1.5, -1, -0.5, 0])
  }

  @Test func itemBiasesAreMeanDeviations() {
    #expect(model.itemBiases == [1, 0, -1, 0])
  }

  @Test func knownPairAddsBothBiases() {
    // 3 + 1.5 - 1, 3 - 1 + 0, 3 - 0.5 + 1 and 3 + 1.5 + 1.
    #expect(model.predict(user: 0, item: 2) == Prediction(3.5))
    #expect(model.predict(user: 1, item: 1) == Prediction(2))
    #expect(model.predict(user: 2, item: 0) == Prediction(3.5))
    #expect(model.predict(user: 0, item: 0) == Prediction(5.5))
  }

  @Test func unknownUserUsesItemBias() {
    // mu + b_i for item 0: 3 + 1.
    #expect(model.predict(user: 3, item: 0) == Prediction(4, fallback: .unknownUser))
    #expect(model.predict(user: -1, item: 0) == Prediction(4, fallback: .unknownUser))
    #expect(model.predict(user: 99, item: 0) == Prediction(4, fallback: .unknownUser))
  }

  @Test func unknownItemUsesUserBias() {
    // mu + b_u for user 0: 3 + 1.5.
    #expect(model.predict(user: 0, item: 3) == Prediction(4.5, fallback: .unknownItem))
    #expect(model.predict(user: 0, item: -1) == Prediction(4.5, fallback: .unknownItem))
    #expect(model.predict(user: 0, item: 99) == Prediction(4.5, fallback: .unknownItem))
  }

  @Test func bothUnknownUseGlobalMean() {
    #expect(model.predict(user: 3, item: 3) == Prediction(3, fallback: .unknownUserAndItem))
    #expect(model.predict(user: -1, item: -1) == Prediction(3, fallback: .unknownUserAndItem))
  }

  @Test func fitMatchesNaiveMeans() {
    let userCount = 25
    let itemCount = 18
    let ratings = randomRatings(
      userCount: userCount, itemCount: itemCount, density: 0.4, seed: 11)
    let model = BiasModel.fit(
      TrainingSet(ratings: ratings, userCount: userCount, itemCount: itemCount))

    // Plain sums and counts, independent of the sparse views.
    var total = 0.0
    var userSums = [Double](repeating: 0, count: userCount)
    var userCounts = [Int](repeating: 0, count: userCount)
    var itemSums = [Double](repeating: 0, count: itemCount)
    var itemCounts = [Int](repeating: 0, count: itemCount)
    for row in 0..<ratings.count {
      let value = Double(ratings.values[row])
      total += value
      userSums[Int(ratings.users[row])] += value
      userCounts[Int(ratings.users[row])] += 1
      itemSums[Int(ratings.items[row])] += value
      itemCounts[Int(ratings.items[row])] += 1
    }
    let mu = total / Double(ratings.count)

    #expect(isClose(model.globalMean, mu))
    for user in 0..<userCount {
      let expected = userCounts[user] > 0 ? userSums[user] / Double(userCounts[user]) - mu : 0
      #expect(isClose(model.userBiases[user], expected), "user \(user)")
    }
    for item in 0..<itemCount {
      let expected = itemCounts[item] > 0 ? itemSums[item] / Double(itemCounts[item]) - mu : 0
      #expect(isClose(model.itemBiases[item], expected), "item \(item)")
    }
  }
}
