import Testing

@testable import StackRec

@Suite struct KNNBaselineModelTests {
  // Users 0-3 rate items 0-2, and mu = 30 / 10 = 3.
  //
  //           item 0  item 1  item 2
  //   user 0     5       4       5
  //   user 1     2       3       1
  //   user 2     4       .       3
  //   user 3     1       2       .
  //
  // With zero baseline passes every bias is 0, so each residual is r - 3:
  //
  //   user 0     2       1       2
  //   user 1    -1       0      -2
  //   user 2     1       .       0
  //   user 3    -2      -1       .
  static let handExample = makeTrainingSet(
    [
      (0, 0, 5), (0, 1, 4), (0, 2, 5), (1, 0, 2), (1, 1, 3), (1, 2, 1), (2, 0, 4), (2, 2, 3),
      (3, 0, 1), (3, 1, 2),
    ],
    userCount: 4, itemCount: 3)

  static func handConfiguration(
    shrinkage: Double = 1, neighbors: Int = 40, minNeighbors: Int = 1
  ) -> KNNBaselineModel.Configuration {
    var configuration = KNNBaselineModel.Configuration()
    configuration.baseline.passes = 0
    configuration.shrinkage = shrinkage
    configuration.neighbors = neighbors
    configuration.minNeighbors = minNeighbors
    return configuration
  }

  /// Returns the neighbour list of `item` as (neighbour, similarity) pairs,
  /// most similar first.
  static func neighbours(_ model: KNNBaselineModel, of item: Int) -> [(Int32, Float)] {
    (model.neighborOffsets[item]..<model.neighborOffsets[item + 1]).map {
      (model.neighborItems[$0], model.neighborSimilarities[$0])
    }
  }

  // MARK: - Hand-computed similarities and predictions

  @Test func pearsonBaselineOfOnePair() throws {
    // Items 0 and 2, common users 0, 1, 2 (n = 3):
    //   sum of products = 2*2 + (-1)(-2) + 1*0 = 6
    //   sums of squares = 4 + 1 + 1 = 6 and 4 + 4 + 0 = 8
    //   rho = 6 / sqrt(6 * 8) = sqrt(3) / 2
    // With no shrinkage, sim = rho.
    let model = KNNBaselineModel.fit(
      Self.handExample, configuration: Self.handConfiguration(shrinkage: 0))
    let list = Self.neighbours(model, of: 0)
    let entry = try #require(list.first { $0.0 == 2 })

    #expect(isClose(Double(entry.1), 3.0.squareRoot() / 2, tolerance: 1e-6))
  }

  @Test func shrinkageScalesByCommonUsers() throws {
    // sim = (n - 1) / (n - 1 + shrinkage) * rho. With shrinkage 1:
    //   items 0 and 2, n = 3: 2/3 * sqrt(3)/2 = 1 / sqrt(3)
    //   items 1 and 2, n = 2 (users 0, 1): rho = (1*2 + 0*(-2)) / sqrt(1 * 8),
    //   so sim = 1/2 * 2 / sqrt(8) = 1 / sqrt(8)
    //   items 0 and 1, n = 3 (users 0, 1, 3): rho = (2 + 0 + 2) / sqrt(9 * 2),
    //   so sim = 2/3 * 4 / sqrt(18) = 8 / (3 sqrt(18))
    let model = KNNBaselineModel.fit(Self.handExample, configuration: Self.handConfiguration())
    let itemTwo = Self.neighbours(model, of: 2)
    let itemZero = Self.neighbours(model, of: 0)
    let fromZero = try #require(itemTwo.first { $0.0 == 0 })
    let fromOne = try #require(itemTwo.first { $0.0 == 1 })
    let zeroToOne = try #require(itemZero.first { $0.0 == 1 })

    #expect(isClose(Double(fromZero.1), 1 / 3.0.squareRoot(), tolerance: 1e-6))
    #expect(isClose(Double(fromOne.1), 1 / 8.0.squareRoot(), tolerance: 1e-6))
    #expect(isClose(Double(zeroToOne.1), 8 / (3 * 18.0.squareRoot()), tolerance: 1e-6))
  }

  @Test func neighbourListsSortedBySimilarity() {
    // From the similarities above: sim(0, 1) = 0.629 > sim(0, 2) = 0.577 >
    // sim(1, 2) = 0.354.
    let model = KNNBaselineModel.fit(Self.handExample, configuration: Self.handConfiguration())

    #expect(Self.neighbours(model, of: 0).map(\.0) == [1, 2])
    #expect(Self.neighbours(model, of: 1).map(\.0) == [0, 2])
    #expect(Self.neighbours(model, of: 2).map(\.0) == [0, 1])
  }

  @Test func predictionInterpolatesResiduals() {
    // User 3 rated items 0 (residual -2) and 1 (residual -1), the
    // neighbours of item 2 with sims 1/sqrt(3) and 1/sqrt(8):
    //   r_hat = 3 + (-2/sqrt(3) - 1/sqrt(8)) / (1/sqrt(3) + 1/sqrt(8)), about 1.3798
    let s0 = 1 / 3.0.squareRoot()
    let s1 = 1 / 8.0.squareRoot()
    let expected = 3 + (-2 * s0 - s1) / (s0 + s1)
    let model = KNNBaselineModel.fit(Self.handExample, configuration: Self.handConfiguration())
    let prediction = model.predict(user: 3, item: 2)

    #expect(isClose(prediction.value, expected, tolerance: 1e-5))
    #expect(prediction.fallback == .none)
  }

  @Test func oneNeighbourTakesMostSimilar() {
    // With k = 1 only item 0 counts: 3 + (-2).
    let model = KNNBaselineModel.fit(
      Self.handExample, configuration: Self.handConfiguration(neighbors: 1))

    #expect(isClose(model.predict(user: 3, item: 2).value, 1, tolerance: 1e-6))
  }

  @Test func tooFewNeighboursGiveBaseline() {
    // User 3 has two neighbours of item 2. Requiring three leaves the
    // baseline, mu = 3, still flagged as a learned prediction.
    let model = KNNBaselineModel.fit(
      Self.handExample, configuration: Self.handConfiguration(minNeighbors: 3))
    let prediction = model.predict(user: 3, item: 2)

    #expect(prediction == Prediction(3))
  }

  @Test func negativeSimilaritiesAreDropped() {
    // Items 0 and 1 are rated by users 0 and 1 in opposite directions
    // around mu = 3 (residuals 2, -2 and -2, 2), so rho = -1. With no
    // positive similarity, item 0's list is empty and user 2's prediction
    // for item 0 is the baseline.
    let training = makeTrainingSet(
      [(0, 0, 5), (0, 1, 1), (1, 0, 1), (1, 1, 5), (2, 1, 3)], userCount: 3, itemCount: 2)
    var configuration = Self.handConfiguration(shrinkage: 0)
    configuration.neighbors = 5
    let model = KNNBaselineModel.fit(training, configuration: configuration)

    #expect(Self.neighbours(model, of: 0).isEmpty)
    #expect(Self.neighbours(model, of: 1).isEmpty)
    #expect(model.predict(user: 2, item: 0) == Prediction(3))
  }

  @Test func baselineTermsUseFittedBiases() {
    // With the default baseline fit, an unknown item gets mu + b_u and an
    // unknown user mu + b_i, using BaselineModel's biases.
    let training = Self.randomTraining
    let model = KNNBaselineModel.fit(training)
    let baseline = BaselineModel.fit(training)
    let lastUser = Int32(Self.userCount - 1)
    let lastItem = Int32(Self.itemCount - 1)

    #expect(model.predict(user: 0, item: lastItem) == baseline.predict(user: 0, item: lastItem))
    #expect(model.predict(user: lastUser, item: 0) == baseline.predict(user: lastUser, item: 0))
    #expect(model.predict(user: -1, item: -1) == baseline.predict(user: -1, item: -1))
  }

  // MARK: - Against a naive implementation

  static let userCount = 20
  static let itemCount = 15
  static let randomRatingSet = randomRatings(
    userCount: userCount, itemCount: itemCount, density: 0.45, seed: 515)
  static let randomTraining = TrainingSet(
    ratings: randomRatingSet, userCount: userCount, itemCount: itemCount)

  static func randomConfiguration(
    neighbors: Int, minNeighbors: Int = 1, maxNeighbors: Int = 300
  ) -> KNNBaselineModel.Configuration {
    var configuration = KNNBaselineModel.Configuration()
    configuration.neighbors = neighbors
    configuration.minNeighbors = minNeighbors
    configuration.maxNeighbors = maxNeighbors
    configuration.shrinkage = 5
    return configuration
  }

  static func naive(_ configuration: KNNBaselineModel.Configuration) -> NaiveKNNBaseline {
    NaiveKNNBaseline(
      ratings: randomRatingSet, userCount: userCount, itemCount: itemCount,
      configuration: configuration)
  }

  @Test(arguments: [1, 3, 40])
  func matchesNaiveImplementation(neighbors: Int) {
    let configuration = Self.randomConfiguration(neighbors: neighbors)
    let model = KNNBaselineModel.fit(Self.randomTraining, configuration: configuration)
    let naive = Self.naive(configuration)

    for user in 0..<Self.userCount {
      for item in 0..<Self.itemCount {
        let value = model.predict(user: Int32(user), item: Int32(item)).value
        let expected = naive.predict(user: user, item: item, listLength: Self.itemCount)
        #expect(isClose(value, expected, tolerance: 1e-5), "user \(user), item \(item)")
      }
    }
  }

  @Test func minNeighborsMatchesNaiveFallback() {
    // Requiring four neighbours sends some pairs to the baseline; the
    // naive version decides the same pairs.
    let configuration = Self.randomConfiguration(neighbors: 10, minNeighbors: 4)
    let model = KNNBaselineModel.fit(Self.randomTraining, configuration: configuration)
    let naive = Self.naive(configuration)
    var fallbackCount = 0

    for user in 0..<Self.userCount - 1 {
      for item in 0..<Self.itemCount - 1 {
        let value = model.predict(user: Int32(user), item: Int32(item)).value
        let expected = naive.predict(user: user, item: item, listLength: Self.itemCount)
        #expect(isClose(value, expected, tolerance: 1e-5), "user \(user), item \(item)")
        if naive.neighbours(user: user, item: item, listLength: Self.itemCount).count < 4 {
          fallbackCount += 1
          #expect(
            isClose(value, naive.baseline(user: user, item: item)), "user \(user), item \(item)")
        }
      }
    }
    #expect(fallbackCount > 0)
  }

  @Test func neighbourListsMatchNaiveTopLists() {
    let configuration = Self.randomConfiguration(neighbors: 40, maxNeighbors: 3)
    let model = KNNBaselineModel.fit(Self.randomTraining, configuration: configuration)
    let naive = Self.naive(configuration)

    for item in 0..<Self.itemCount {
      let list = Self.neighbours(model, of: item)
      let expected = naive.topList(of: item, length: 3)
      #expect(list.map(\.0) == expected.map { Int32($0.item) }, "item \(item)")
      for (entry, reference) in zip(list, expected) {
        #expect(
          isClose(Double(entry.1), reference.similarity, tolerance: 1e-5),
          "item \(item), neighbour \(reference.item)")
      }
    }
  }

  @Test func shortListsLimitNeighbours() {
    // With lists of three, each prediction uses only the user's items
    // among the item's three most similar, even with k = 40.
    let configuration = Self.randomConfiguration(neighbors: 40, maxNeighbors: 3)
    let model = KNNBaselineModel.fit(Self.randomTraining, configuration: configuration)
    let full = KNNBaselineModel.fit(
      Self.randomTraining, configuration: Self.randomConfiguration(neighbors: 40))
    let naive = Self.naive(configuration)
    var differences = 0

    for user in 0..<Self.userCount {
      for item in 0..<Self.itemCount {
        let value = model.predict(user: Int32(user), item: Int32(item)).value
        let expected = naive.predict(user: user, item: item, listLength: 3)
        #expect(isClose(value, expected, tolerance: 1e-5), "user \(user), item \(item)")
        if !isClose(value, full.predict(user: Int32(user), item: Int32(item)).value) {
          differences += 1
        }
      }
    }
    #expect(differences > 0)
  }

  // MARK: - Scoring paths

  @Test func batchPredictMatchesSinglePredict() {
    let model = KNNBaselineModel.fit(
      Self.randomTraining, configuration: Self.randomConfiguration(neighbors: 5))
    let pairs = allPairs(userCount: Self.userCount, itemCount: Self.itemCount)
    let batch = model.predict(users: pairs.users, items: pairs.items)

    #expect(batch.count == pairs.users.count)
    for (position, (user, item)) in zip(pairs.users, pairs.items).enumerated() {
      let single = model.predict(user: user, item: item).value
      #expect(batch[position] == single, "user \(user), item \(item)")
    }
  }

  @Test func scoreMatrixMatchesPredict() {
    let model = KNNBaselineModel.fit(
      Self.randomTraining, configuration: Self.randomConfiguration(neighbors: 5))
    var scores = [Float](repeating: .nan, count: Self.userCount * Self.itemCount)
    scores.withUnsafeMutableBufferPointer { model.scoreMatrix(into: $0) }

    for user in 0..<Self.userCount {
      for item in 0..<Self.itemCount {
        let expected = Float(model.predict(user: Int32(user), item: Int32(item)).value)
        #expect(scores[user * Self.itemCount + item] == expected, "user \(user), item \(item)")
      }
    }
  }
}

/// KNNBaseline written from its formulas with dense arrays, plain loops and
/// a full sort, in `Double`.
struct NaiveKNNBaseline {
  let rated: [[Bool]]
  let residuals: [[Double]]
  let mu: Double
  let userBiases: [Double]
  let itemBiases: [Double]
  let similarities: [[Double]]
  let configuration: KNNBaselineModel.Configuration

  init(ratings: Ratings, userCount: Int, itemCount: Int, configuration: KNNBaselineModel.Configuration) {
    self.configuration = configuration
    let matrix = denseMatrix(ratings, userCount: userCount, itemCount: itemCount)
    var rated = [[Bool]](repeating: [Bool](repeating: false, count: itemCount), count: userCount)
    for row in 0..<ratings.count { rated[Int(ratings.users[row])][Int(ratings.items[row])] = true }
    mu = ratings.mean

    // Alternating bias steps, items first.
    var bu = [Double](repeating: 0, count: userCount)
    var bi = [Double](repeating: 0, count: itemCount)
    for _ in 0..<configuration.baseline.passes {
      for item in 0..<itemCount {
        var sum = 0.0
        var count = 0.0
        for user in 0..<userCount where rated[user][item] {
          sum += matrix[user][item] - mu - bu[user]
          count += 1
        }
        if count > 0 { bi[item] = sum / (configuration.baseline.itemRegularization + count) }
      }
      for user in 0..<userCount {
        var sum = 0.0
        var count = 0.0
        for item in 0..<itemCount where rated[user][item] {
          sum += matrix[user][item] - mu - bi[item]
          count += 1
        }
        if count > 0 { bu[user] = sum / (configuration.baseline.userRegularization + count) }
      }
    }

    var residuals = matrix
    for user in 0..<userCount {
      for item in 0..<itemCount {
        residuals[user][item] = rated[user][item] ? matrix[user][item] - mu - bu[user] - bi[item] : 0
      }
    }

    var similarities = [[Double]](
      repeating: [Double](repeating: 0, count: itemCount), count: itemCount)
    for i in 0..<itemCount {
      for j in 0..<itemCount where j != i {
        var common = 0.0
        var product = 0.0
        var squaresI = 0.0
        var squaresJ = 0.0
        for user in 0..<userCount where rated[user][i] && rated[user][j] {
          common += 1
          product += residuals[user][i] * residuals[user][j]
          squaresI += residuals[user][i] * residuals[user][i]
          squaresJ += residuals[user][j] * residuals[user][j]
        }
        guard squaresI > 0, squaresJ > 0 else { continue }
        let rho = product / (squaresI * squaresJ).squareRoot()
        similarities[i][j] = (common - 1) / (common - 1 + configuration.shrinkage) * rho
      }
    }

    self.rated = rated
    self.residuals = residuals
    userBiases = bu
    itemBiases = bi
    self.similarities = similarities
  }

  func baseline(user: Int, item: Int) -> Double {
    mu + userBiases[user] + itemBiases[item]
  }

  /// Returns the `length` most similar items with positive similarity,
  /// ties by lower index.
  func topList(of item: Int, length: Int) -> [(item: Int, similarity: Double)] {
    let positive = similarities[item].indices.filter { similarities[item][$0] > 0 }
    let sorted = positive.sorted {
      similarities[item][$0] > similarities[item][$1]
        || (similarities[item][$0] == similarities[item][$1] && $0 < $1)
    }
    return sorted.prefix(length).map { ($0, similarities[item][$0]) }
  }

  /// Returns the user's rated items among the item's list, at most k of them.
  func neighbours(user: Int, item: Int, listLength: Int) -> [(item: Int, similarity: Double)] {
    Array(
      topList(of: item, length: listLength).filter { rated[user][$0.item] }
        .prefix(configuration.neighbors))
  }

  func predict(user: Int, item: Int, listLength: Int) -> Double {
    let userKnown = rated[user].contains(true)
    let itemKnown = rated.contains { $0[item] }
    guard userKnown && itemKnown else { return baseline(user: user, item: item) }
    let chosen = neighbours(user: user, item: item, listLength: listLength)
    guard chosen.count >= configuration.minNeighbors, !chosen.isEmpty else {
      return baseline(user: user, item: item)
    }
    var weighted = 0.0
    var total = 0.0
    for neighbour in chosen {
      weighted += neighbour.similarity * residuals[user][neighbour.item]
      total += neighbour.similarity
    }
    return baseline(user: user, item: item) + weighted / total
  }
}
