/// Chooses and scores each user's candidate items for a candidate-limited
/// store.
///
/// For one user:
///
/// 1. Every item is pre-scored with the blend of the models' `ScoreBasis`
///    values, which are exact for the bias and factorisation models and a
///    user-mean estimate for the others, so the cost is a few dot products
///    per item.
/// 2. The `preselect` best items that the user has not rated and that the
///    models have ratings for are kept.
/// 3. Every model scores those items exactly (item kNN through its
///    neighbour lists), and the `count` best by the full blend become the
///    user's candidates.
///
/// NOTE: the final candidates are the best by the full blend among the
/// pre-selected items; an item outside the pre-selection is never scored by
/// the slower models, so it cannot enter even if they would rank it high.
struct CandidateSource: UserScoreSource {
  let scorers: [any CandidateScorer]
  let bases: [ScoreBasis]
  let prepared: PreparedBlend
  let userSupport: [Int32]
  let itemSupport: [Int32]
  let ratedOffsets: [Int]
  let ratedItems: [Int32]
  let count: Int
  let preselect: Int
  let itemCount: Int

  func scores(for users: Range<Int>) throws -> [UserScores] {
    var row = [Float](repeating: 0, count: itemCount)
    var base = [Float](repeating: 0, count: itemCount)
    var preselected: [[Int32]] = []
    preselected.reserveCapacity(users.count)

    for user in users {
      let terms = prepared.userTerms(userSupport: userSupport[user])
      for item in 0..<itemCount { row[item] = Float(terms.intercept + prepared.itemIntercepts[item]) }
      for (model, basis) in bases.enumerated() {
        base.withUnsafeMutableBufferPointer { basis.fillRow(user: user, into: $0) }
        let userWeight = terms.weights[model]
        prepared.itemWeights[model].withUnsafeBufferPointer { itemWeights in
          for item in 0..<itemCount {
            row[item] += Float(userWeight + itemWeights[item]) * base[item]
          }
        }
      }
      preselected.append(best(of: row, user: user, keep: preselect))
    }

    // Every model scores the pre-selected items of the whole block at once.
    let userList = Array(users)
    let modelScores = scorers.map { $0.scores(users: userList, items: preselected) }

    var result: [UserScores] = []
    result.reserveCapacity(users.count)
    for (offset, user) in users.enumerated() {
      let items = preselected[offset]
      let terms = prepared.userTerms(userSupport: userSupport[user])
      var top = TopK(capacity: count)
      for (position, item) in items.enumerated() {
        var value = terms.intercept + prepared.itemIntercepts[Int(item)]
        for model in 0..<scorers.count {
          let weight = terms.weights[model] + prepared.itemWeights[model][Int(item)]
          value += weight * Double(modelScores[model][offset][position])
        }
        top.insert(item: position, score: Float(value))
      }
      let chosen = top.unorderedItems().sorted()
      result.append(
        UserScores(
          ratedItems: Array(ratedItems[ratedOffsets[user]..<ratedOffsets[user + 1]]),
          candidates: chosen.map { items[$0] },
          scores: (0..<scorers.count).map { model in chosen.map { modelScores[model][offset][$0] } }))
    }
    return result
  }

  /// The `keep` best-scoring items the user has not rated and the models
  /// have ratings for, ascending by index.
  private func best(of row: [Float], user: Int, keep: Int) -> [Int32] {
    var top = TopK(capacity: keep)
    var nextRated = ratedOffsets[user]
    let end = ratedOffsets[user + 1]
    for item in 0..<itemCount {
      if nextRated < end && Int(ratedItems[nextRated]) == item {
        nextRated += 1
        continue
      }
      if itemSupport[item] > 0 { top.insert(item: item, score: row[item]) }
    }
    return top.unorderedItems().sorted().map { Int32($0) }
  }
}
