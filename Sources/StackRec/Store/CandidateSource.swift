/// Chooses and scores each user's candidate items for a candidate-limited
/// store.
///
/// For one user:
///
/// 1. Every item is pre-scored with the blend of the models' `ScoreBasis`
///    values, which are exact for the bias and factorisation models and a
///    user-mean estimate for the others, as one dot product per item
///    (`PrescoreLayout`).
/// 2. The `preselect` best items (1.5 times `count`) that the user has not
///    rated and that the models have ratings for are kept.
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
  /// The pre-score's item side: one row of `width` values per item (see
  /// `PrescoreLayout`).
  let itemVectors: [Float]
  let width: Int

  init(
    scorers: [any CandidateScorer], bases: [ScoreBasis], prepared: PreparedBlend,
    userSupport: [Int32], itemSupport: [Int32], ratedOffsets: [Int], ratedItems: [Int32],
    count: Int, preselect: Int, itemCount: Int
  ) {
    self.scorers = scorers
    self.bases = bases
    self.prepared = prepared
    self.userSupport = userSupport
    self.itemSupport = itemSupport
    self.ratedOffsets = ratedOffsets
    self.ratedItems = ratedItems
    self.count = count
    self.preselect = preselect
    self.itemCount = itemCount
    let layout = PrescoreLayout(bases: bases, prepared: prepared)
    width = layout.width
    itemVectors = layout.itemVectors(bases: bases, prepared: prepared, itemCount: itemCount)
  }

  func scores(for users: Range<Int>) throws -> [UserScores] {
    var row = [Float](repeating: 0, count: itemCount)
    var userVector = [Float](repeating: 0, count: width)
    let layout = PrescoreLayout(bases: bases, prepared: prepared)
    var preselected: [[Int32]] = []
    preselected.reserveCapacity(users.count)

    for user in users {
      layout.fillUserVector(
        &userVector, user: user, bases: bases, prepared: prepared,
        userSupport: userSupport[user])
      userVector.withUnsafeBufferPointer { userVector in
        itemVectors.withUnsafeBufferPointer { itemVectors in
          for item in 0..<itemCount {
            row[item] = dotProduct(
              userVector.baseAddress!, itemVectors.baseAddress! + item * width, width)
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

/// The pre-score of every model's basis, blended, as one dot product per
/// pair. A blend's terms split into user and item parts (`PreparedBlend`),
/// and each basis is a dot product, so
///
/// ```
/// prescore(u, i) = intercept(u, i) + sum_m (a_m(u) + c_m(i)) * dot(U_m(u), V_m(i))
///                = dot([a_m(u) U_m(u), U_m(u) ..., userIntercept(u), 1],
///                      [V_m(i), c_m(i) V_m(i) ..., 1, itemIntercept(i)])
/// ```
///
/// A plain linear blend has no item parts, so its vectors drop the second
/// copy of each basis. The width is padded to a multiple of 8 for the
/// vectorised dot product.
struct PrescoreLayout {
  let hasItemParts: Bool
  let width: Int

  init(bases: [ScoreBasis], prepared: PreparedBlend) {
    hasItemParts = !prepared.blend.isLinear
    let ranks = bases.reduce(0) { $0 + $1.rank }
    let raw = (hasItemParts ? 2 * ranks : ranks) + 2
    width = (raw + 7) / 8 * 8
  }

  func itemVectors(bases: [ScoreBasis], prepared: PreparedBlend, itemCount: Int) -> [Float] {
    var vectors = [Float](repeating: 0, count: itemCount * width)
    for item in 0..<itemCount {
      var column = item * width
      for basis in bases {
        for k in 0..<basis.rank { vectors[column + k] = basis.itemTerms[item * basis.rank + k] }
        column += basis.rank
      }
      if hasItemParts {
        for (model, basis) in bases.enumerated() {
          let weight = Float(prepared.itemWeights[model][item])
          for k in 0..<basis.rank {
            vectors[column + k] = weight * basis.itemTerms[item * basis.rank + k]
          }
          column += basis.rank
        }
      }
      vectors[column] = 1
      vectors[column + 1] = Float(prepared.itemIntercepts[item])
    }
    return vectors
  }

  func fillUserVector(
    _ vector: inout [Float], user: Int, bases: [ScoreBasis], prepared: PreparedBlend,
    userSupport: Int32
  ) {
    let terms = prepared.userTerms(userSupport: userSupport)
    var column = 0
    for (model, basis) in bases.enumerated() {
      let weight = Float(terms.weights[model])
      for k in 0..<basis.rank {
        vector[column + k] = weight * basis.userTerms[user * basis.rank + k]
      }
      column += basis.rank
    }
    if hasItemParts {
      for basis in bases {
        for k in 0..<basis.rank { vector[column + k] = basis.userTerms[user * basis.rank + k] }
        column += basis.rank
      }
    }
    vector[column] = Float(terms.intercept)
    vector[column + 1] = 1
    for index in (column + 2)..<width { vector[index] = 0 }
  }
}
