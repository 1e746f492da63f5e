import Glibc

/// Top-K ranking accuracy of one model or ensemble.
public struct RankingAccuracy: Sendable, Equatable {
  public var key: String
  public var precision: Double
  public var recall: Double
  public var ndcg: Double
}

/// Precision@K, recall@K and NDCG@K over every item a test user has not
/// rated in training.
///
/// For each test user with at least one relevant test rating (rating at or
/// above `threshold`), every item the user did not rate in training is
/// ranked by predicted score (ties by lower item index) and the first K are
/// compared with the relevant items:
///
/// ```
/// precision@K = hits / K
/// recall@K    = hits / relevant
/// NDCG@K      = sum_{hits at rank r} 1 / log2(r + 1)
///               / sum_{r = 1}^{min(K, relevant)} 1 / log2(r + 1)
/// ```
///
/// with binary relevance, averaged over those users. Users without a
/// relevant test rating are left out, since no ranking can score for them.
public struct RankingEvaluator: Sendable {
  public let k: Int
  public let threshold: Float
  /// The users with a relevant test rating, and each one's relevant items.
  let users: [Int]
  let relevant: [Set<Int32>]
  /// Each evaluated user's training items, ascending.
  let seen: [[Int32]]
  let itemCount: Int

  /// - Parameter maxUsers: evaluate at most this many users, a seeded
  ///   random sample when there are more, so large datasets stay cheap.
  public init(
    dataset: Dataset, testRows: [Int], training: TrainingSet, k: Int = 10, threshold: Float = 4.0,
    maxUsers: Int = 2000, seed: UInt64 = 42
  ) {
    self.k = k
    self.threshold = threshold
    itemCount = dataset.itemCount
    var relevantByUser: [Int: Set<Int32>] = [:]
    for row in testRows where dataset.ratings.values[row] >= threshold {
      relevantByUser[Int(dataset.ratings.users[row]), default: []].insert(dataset.ratings.items[row])
    }
    var candidates = relevantByUser.keys.sorted()
    if candidates.count > maxUsers {
      var generator = SeededGenerator(seed: seed)
      generator.shuffle(&candidates)
      candidates = candidates.prefix(maxUsers).sorted()
    }
    users = candidates
    relevant = users.map { relevantByUser[$0]! }
    seen = users.map { user in
      training.byUser.range(ofRow: user).map { training.byUser.columns[$0] }
    }
  }

  /// The number of users the metrics average over.
  public var userCount: Int { users.count }

  /// Scores every evaluated user's ranking; `scores(position, row)` fills
  /// `row` with the scores of every item for the `position`-th evaluated
  /// user.
  public func evaluate(key: String, scores: (Int, inout [Float]) -> Void) -> RankingAccuracy {
    var precision = 0.0
    var recall = 0.0
    var ndcg = 0.0
    var row = [Float](repeating: 0, count: itemCount)
    for position in 0..<users.count {
      scores(position, &row)
      var best = TopK(capacity: k)
      var nextSeen = 0
      let userSeen = seen[position]
      for item in 0..<itemCount {
        if nextSeen < userSeen.count && Int(userSeen[nextSeen]) == item {
          nextSeen += 1
          continue
        }
        best.insert(item: item, score: row[item])
      }
      var hits = 0
      var gain = 0.0
      for (rank, entry) in best.sorted().enumerated()
      where relevant[position].contains(Int32(entry.item)) {
        hits += 1
        gain += 1 / log2(Double(rank + 2))
      }
      var ideal = 0.0
      for rank in 0..<min(k, relevant[position].count) { ideal += 1 / log2(Double(rank + 2)) }
      precision += Double(hits) / Double(k)
      recall += Double(hits) / Double(relevant[position].count)
      ndcg += gain / ideal
    }
    let count = Double(max(users.count, 1))
    return RankingAccuracy(
      key: key, precision: precision / count, recall: recall / count, ndcg: ndcg / count)
  }
}
