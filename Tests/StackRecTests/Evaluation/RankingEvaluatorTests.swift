import Glibc
import Testing

@testable import StackRec

@Suite struct RankingEvaluatorTests {
  // Three users and six items.
  //
  //   user 0: trained on item 0; test ratings item 1 = 5, item 2 = 4,
  //           item 3 = 2, so items 1 and 2 are relevant (rating >= 4).
  //   user 1: trained on items 1 and 2; test rating item 4 = 4.5.
  //   user 2: trained on item 0; test rating item 5 = 3, nothing relevant.
  static let dataset = makeDataset(
    makeRatings([
      (0, 0, 3), (1, 1, 4), (1, 2, 2), (2, 0, 5),
      (0, 1, 5), (0, 2, 4), (0, 3, 2), (1, 4, 4.5), (2, 5, 3),
    ]),
    userCount: 3, itemCount: 6)
  static let trainingRows = [0, 1, 2, 3]
  static let testRows = [4, 5, 6, 7, 8]
  static let training = TrainingSet(dataset: dataset, rows: trainingRows)

  // Scores by user; items a user trained on get the highest scores, so
  // they would take the top ranks if they were not excluded.
  static let scores: [[Float]] = [
    [9, 1, 3, 3, 5, 0],
    [2, 9, 9, 1, 2, 0],
    [0, 0, 0, 0, 0, 9],
  ]

  static func evaluate(k: Int) -> (RankingAccuracy, RankingEvaluator) {
    let evaluator = RankingEvaluator(
      dataset: dataset, testRows: testRows, training: training, k: k)
    let accuracy = evaluator.evaluate(key: "hand") { position, row in
      let user = evaluator.users[position]
      for item in 0..<6 { row[item] = scores[user][item] }
    }
    return (accuracy, evaluator)
  }

  @Test func usersWithoutRelevantItemsExcluded() {
    let (_, evaluator) = Self.evaluate(k: 3)

    #expect(evaluator.userCount == 2)
    #expect(evaluator.users == [0, 1])
  }

  @Test func topThreeMatchesHandMetrics() {
    // User 0 ranks its unseen items 4 (5), then 2 and 3 (3, tie to the lower
    // index), 1 (1), 5 (0): the top 3 are [4, 2, 3], one hit (item 2) at rank 2.
    //   precision 1/3, recall 1/2,
    //   NDCG = (1 / log2(3)) / (1 / log2(2) + 1 / log2(3))
    // User 1 ranks 0 and 4 (2, tie to 0), 3 (1), 5 (0): top 3 [0, 4, 3], one
    // hit (item 4) at rank 2.
    //   precision 1/3, recall 1/1, NDCG = (1 / log2(3)) / (1 / log2(2))
    let (accuracy, _) = Self.evaluate(k: 3)
    let rankTwo = 1 / log2(3.0)
    let ndcgZero = rankTwo / (1 + rankTwo)
    let ndcgOne = rankTwo / 1

    #expect(accuracy.key == "hand")
    #expect(isClose(accuracy.precision, (1.0 / 3 + 1.0 / 3) / 2))
    #expect(isClose(accuracy.recall, (0.5 + 1) / 2))
    #expect(isClose(accuracy.ndcg, (ndcgZero + ndcgOne) / 2))
  }

  @Test func topOneMatchesHandMetrics() {
    // With K = 1, user 0's top item is 4 and user 1's is 0: no hits. The
    // ideal DCG of each user is 1 / log2(2) = 1, and every metric is 0.
    let (accuracy, _) = Self.evaluate(k: 1)

    #expect(accuracy.precision == 0)
    #expect(accuracy.recall == 0)
    #expect(accuracy.ndcg == 0)
  }

  @Test func topFiveMatchesHandMetrics() {
    // With K = 5, user 0's unseen items all fit: [4, 2, 3, 1, 5], hits at
    // ranks 2 and 4, ideal ranks 1 and 2. User 1 has four unseen items,
    // [0, 4, 3, 5], one hit at rank 2, ideal rank 1. Precision divides by
    // K even when fewer items are ranked.
    let (accuracy, _) = Self.evaluate(k: 5)
    let userZeroNDCG = (1 / log2(3.0) + 1 / log2(5.0)) / (1 + 1 / log2(3.0))
    let userOneNDCG = 1 / log2(3.0)

    #expect(isClose(accuracy.precision, (2.0 / 5 + 1.0 / 5) / 2))
    #expect(isClose(accuracy.recall, (1 + 1) / 2))
    #expect(isClose(accuracy.ndcg, (userZeroNDCG + userOneNDCG) / 2))
  }

  @Test func perfectScoresGiveFullMetrics() {
    // Scoring each user's relevant items highest puts every hit first.
    let evaluator = RankingEvaluator(
      dataset: Self.dataset, testRows: Self.testRows, training: Self.training, k: 2)
    let relevant: [[Int]] = [[1, 2], [4], []]
    let accuracy = evaluator.evaluate(key: "perfect") { position, row in
      for item in 0..<6 { row[item] = 0 }
      for item in relevant[evaluator.users[position]] { row[item] = 1 }
    }

    #expect(isClose(accuracy.precision, (1 + 0.5) / 2))
    #expect(isClose(accuracy.recall, 1))
    #expect(isClose(accuracy.ndcg, 1))
  }

  @Test func thresholdSetsRelevance() {
    // With threshold 4.5, user 0 keeps only item 1 and user 1 keeps item 4.
    let evaluator = RankingEvaluator(
      dataset: Self.dataset, testRows: Self.testRows, training: Self.training, k: 3,
      threshold: 4.5)

    #expect(evaluator.users == [0, 1])
    #expect(evaluator.relevant == [[1], [4]])
  }
}
