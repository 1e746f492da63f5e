import Testing

@testable import StackRec

@Suite struct ItemKNNModelTests {
  // Users 0-3 rate items 0-3; user 4 and item 4 have no ratings.
  //
  //           item 0  item 1  item 2  item 3
  //   user 0     5       3       .       1
  //   user 1     4       .       4       .
  //   user 2     .       2       5       .
  //   user 3     3       .       2       4
  //
  // Squared column norms: 50, 13, 45, 17. Column dot products:
  // (0,1) 15, (0,2) 22, (0,3) 17, (1,2) 10, (1,3) 3, (2,3) 8.
  // The global mean is 33 / 10 = 3.3.
  static let handExample = makeTrainingSet(
    [
      (0, 0, 5), (0, 1, 3), (0, 3, 1), (1, 0, 4), (1, 2, 4), (2, 1, 2), (2, 2, 5),
      (3, 0, 3), (3, 2, 2), (3, 3, 4),
    ],
    userCount: 5, itemCount: 5)

  static func fit(_ training: TrainingSet, neighbors: Int) -> ItemKNNModel {
    ItemKNNModel.fit(training, configuration: .init(neighbors: neighbors))
  }

  // MARK: - Hand-computed examples

  @Test func allNeighboursGiveWeightedMean() {
    // User 0 rated item 0 (5), item 1 (3) and item 3 (1). Similarities to item 2:
    // s0 = 22 / sqrt(45 * 50), s1 = 10 / sqrt(45 * 13), s3 = 8 / sqrt(45 * 17).
    let s0 = 22 / (45.0 * 50).squareRoot()
    let s1 = 10 / (45.0 * 13).squareRoot()
    let s3 = 8 / (45.0 * 17).squareRoot()
    let expected = (5 * s0 + 3 * s1 + 1 * s3) / (s0 + s1 + s3)  // about 3.2993

    let prediction = Self.fit(Self.handExample, neighbors: 40).predict(user: 0, item: 2)
    #expect(isClose(prediction.value, expected, tolerance: 1e-5))
    #expect(prediction.fallback == .none)
  }

  @Test func smallKeepsMostSimilarItems() {
    // The same pair with k = 2 drops item 3 (s3 is the smallest), and with
    // k = 1 keeps item 0 alone.
    let s0 = 22 / (45.0 * 50).squareRoot()
    let s1 = 10 / (45.0 * 13).squareRoot()
    let expectedTwo = (5 * s0 + 3 * s1) / (s0 + s1)  // about 4.0574

    let two = Self.fit(Self.handExample, neighbors: 2).predict(user: 0, item: 2)
    let one = Self.fit(Self.handExample, neighbors: 1).predict(user: 0, item: 2)
    #expect(isClose(two.value, expectedTwo, tolerance: 1e-5))
    #expect(isClose(one.value, 5, tolerance: 1e-6))
  }

  @Test func smallKOnOtherUser() {
    // User 2 rated item 1 (2) and item 2 (5). Similarities to item 0:
    // s1 = 15 / sqrt(50 * 13) = 0.588 is larger than s2 = 22 / sqrt(50 * 45) = 0.464.
    let s1 = 15 / (50.0 * 13).squareRoot()
    let s2 = 22 / (50.0 * 45).squareRoot()
    let expectedTwo = (2 * s1 + 5 * s2) / (s1 + s2)  // about 3.3226

    let two = Self.fit(Self.handExample, neighbors: 2).predict(user: 2, item: 0)
    let one = Self.fit(Self.handExample, neighbors: 1).predict(user: 2, item: 0)
    #expect(isClose(two.value, expectedTwo, tolerance: 1e-5))
    #expect(isClose(one.value, 2, tolerance: 1e-6))
  }

  @Test(arguments: [1, 2, 40])
  func zeroSimilaritiesGivePlainMean(neighbors: Int) {
    // Item 3 shares no rater with items 0-2, so every similarity is 0 and
    // the prediction is the mean of user 0's first k ratings in item order:
    // k = 1: 2; k = 2: (2 + 4) / 2 = 3; k = 40: (2 + 4 + 5) / 3.
    let training = makeTrainingSet(
      [(0, 0, 2), (0, 1, 4), (0, 2, 5), (1, 3, 3)], userCount: 2, itemCount: 4)
    let expected = [1: 2.0, 2: 3.0, 40: 11.0 / 3][neighbors]!

    let prediction = Self.fit(training, neighbors: neighbors).predict(user: 0, item: 3)
    #expect(isClose(prediction.value, expected, tolerance: 1e-6))
    #expect(prediction.fallback == .none)
  }

  @Test func equalSimilarityPrefersLowerIndex() {
    // Item 0 is rated by user 0 only. Items 1 and 2 have proportional
    // columns, (2, 4) and (1, 2), so both have similarity 1 / sqrt(5) to
    // item 0; user 1 rated them 4 and 2. With k = 1 the lower index wins.
    let lowerRatedFour = makeTrainingSet(
      [(0, 0, 4), (0, 1, 2), (0, 2, 1), (1, 1, 4), (1, 2, 2)], userCount: 2, itemCount: 3)
    let lowerRatedTwo = makeTrainingSet(
      [(0, 0, 4), (0, 1, 1), (0, 2, 2), (1, 1, 2), (1, 2, 4)], userCount: 2, itemCount: 3)

    let four = Self.fit(lowerRatedFour, neighbors: 1).predict(user: 1, item: 0)
    let two = Self.fit(lowerRatedTwo, neighbors: 1).predict(user: 1, item: 0)
    let both = Self.fit(lowerRatedTwo, neighbors: 2).predict(user: 1, item: 0)
    #expect(isClose(four.value, 4, tolerance: 1e-6))
    #expect(isClose(two.value, 2, tolerance: 1e-6))
    #expect(isClose(both.value, 3, tolerance: 1e-6))
  }

  @Test func unknownUserGetsGlobalMean() {
    let model = Self.fit(Self.handExample, neighbors: 40)
    #expect(model.predict(user: 4, item: 0) == Prediction(3.3, fallback: .unknownUser))
    #expect(model.predict(user: -1, item: 0) == Prediction(3.3, fallback: .unknownUser))
  }

  @Test func unknownItemGetsGlobalMean() {
    let model = Self.fit(Self.handExample, neighbors: 40)
    #expect(model.predict(user: 0, item: 4) == Prediction(3.3, fallback: .unknownItem))
    #expect(model.predict(user: 0, item: -1) == Prediction(3.3, fallback: .unknownItem))
    #expect(model.predict(user: -1, item: 4) == Prediction(3.3, fallback: .unknownUserAndItem))
  }

  // MARK: - Against a naive implementation

  static let userCount = 20
  static let itemCount = 15
  static let randomRatingSet = randomRatings(
    userCount: userCount, itemCount: itemCount, density: 0.45, seed: 2024)
  static let randomTraining = TrainingSet(
    ratings: randomRatingSet, userCount: userCount, itemCount: itemCount)

  @Test(arguments: [1, 2, 3, 5, 40])
  func matchesNaiveImplementation(neighbors: Int) {
    let model = Self.fit(Self.randomTraining, neighbors: neighbors)
    let naive = NaiveItemKNN(
      matrix: denseMatrix(
        Self.randomRatingSet, userCount: Self.userCount, itemCount: Self.itemCount),
      neighbors: neighbors, globalMean: Self.randomRatingSet.mean)

    for user in 0..<Self.userCount {
      for item in 0..<Self.itemCount {
        let value = model.predict(user: Int32(user), item: Int32(item)).value
        let expected = naive.predict(user: user, item: item)
        #expect(isClose(value, expected, tolerance: 1e-4), "user \(user), item \(item)")
      }
    }
  }

  @Test func neighbourCountChangesPredictions() {
    let pairs = allPairs(userCount: Self.userCount, itemCount: Self.itemCount)
    let one = Self.fit(Self.randomTraining, neighbors: 1).predict(
      users: pairs.users, items: pairs.items)
    let three = Self.fit(Self.randomTraining, neighbors: 3).predict(
      users: pairs.users, items: pairs.items)
    let forty = Self.fit(Self.randomTraining, neighbors: 40).predict(
      users: pairs.users, items: pairs.items)
    #expect(one != three)
    #expect(three != forty)
  }

  @Test(arguments: [1, 5, 40])
  func batchPredictMatchesSinglePredict(neighbors: Int) {
    let model = Self.fit(Self.randomTraining, neighbors: neighbors)
    // Every pair, including unknown ones, in a shuffled order with repeats.
    var pairs = allPairs(userCount: Self.userCount, itemCount: Self.itemCount)
    var order = Array(0..<pairs.users.count) + [3, 3, 17]
    var generator = SeededGenerator(seed: 5)
    generator.shuffle(&order)
    pairs = (order.map { pairs.users[$0] }, order.map { pairs.items[$0] })

    let batch = model.predict(users: pairs.users, items: pairs.items)
    #expect(batch.count == pairs.users.count)
    for (position, (user, item)) in zip(pairs.users, pairs.items).enumerated() {
      let single = model.predict(user: user, item: item).value
      #expect(batch[position] == single, "user \(user), item \(item)")
    }
  }

  @Test(arguments: [1, 5, 40])
  func scoreMatrixMatchesPredict(neighbors: Int) {
    let model = Self.fit(Self.randomTraining, neighbors: neighbors)
    var scores = [Float](repeating: .nan, count: Self.userCount * Self.itemCount)
    scores.withUnsafeMutableBufferPointer { model.scoreMatrix(into: $0) }

    for user in 0..<Self.userCount {
      for item in 0..<Self.itemCount {
        let expected = Float(model.predict(user: Int32(user), item: Int32(item)).value)
        let score = scores[user * Self.itemCount + item]
        #expect(score == expected, "user \(user), item \(item)")
      }
    }
  }

  // MARK: - Selection

  @Test func partialTopMatchesSortedOrder() {
    var generator = SeededGenerator(seed: 9)
    for length in [1, 2, 3, 7, 50, 201] {
      // Few distinct values, so that ties are common; the index breaks them.
      let values = (0..<length).map { (value: generator.nextInt(below: 6), index: $0) }
      let ranksAbove = { (a: (value: Int, index: Int), b: (value: Int, index: Int)) in
        a.value > b.value || (a.value == b.value && a.index < b.index)
      }
      let sorted = values.sorted(by: ranksAbove)
      for k in 1...length {
        let top = partialTop(values, k, by: ranksAbove).map(\.index).sorted()
        #expect(top == sorted[0..<k].map(\.index).sorted(), "length \(length), k \(k)")
      }
    }
  }
}

/// Item kNN written straight from the formula, for comparison: dense cosine
/// similarities in `Double` and a full sort of each user's rated items by
/// similarity, then by item index.
struct NaiveItemKNN {
  let matrix: [[Double]]
  let neighbors: Int
  let globalMean: Double

  func cosine(_ a: Int, _ b: Int) -> Double {
    var dot = 0.0
    var normA = 0.0
    var normB = 0.0
    for row in matrix {
      dot += row[a] * row[b]
      normA += row[a] * row[a]
      normB += row[b] * row[b]
    }
    guard normA > 0, normB > 0 else { return 0 }
    return dot / (normA.squareRoot() * normB.squareRoot())
  }

  func predict(user: Int, item: Int) -> Double {
    let ratings = matrix[user]
    let itemIsRated = matrix.contains { $0[item] != 0 }
    let userHasRatings = ratings.contains { $0 != 0 }
    guard itemIsRated, userHasRatings else { return globalMean }

    var candidates: [(item: Int, similarity: Double)] = []
    for other in 0..<ratings.count where ratings[other] != 0 {
      candidates.append((other, cosine(item, other)))
    }
    candidates.sort { a, b in
      a.similarity != b.similarity ? a.similarity > b.similarity : a.item < b.item
    }
    let chosen = candidates.prefix(neighbors)

    let weightSum = chosen.reduce(0.0) { $0 + abs($1.similarity) }
    if weightSum == 0 {
      return chosen.reduce(0.0) { $0 + ratings[$1.item] } / Double(chosen.count)
    }
    return chosen.reduce(0.0) { $0 + $1.similarity * ratings[$1.item] } / weightSum
  }
}
