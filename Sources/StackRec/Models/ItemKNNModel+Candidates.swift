/// Item kNN for candidate-limited stores and large datasets: per-item lists
/// of the most similar items replace the full similarity rows.
///
/// NOTE: with lists of `maxNeighbors` items, a user's neighbours for item i
/// come from i's most similar items only; when fewer than k of the user's
/// rated items are on the list, the prediction uses fewer neighbours than
/// the exact model would. The exact model is used for evaluation; lists
/// serve only candidate scoring.
extension ItemKNNModel {
  /// The list length used for candidate scoring.
  static let candidateListLength = 100

  public func makeCandidateScorer() -> any CandidateScorer {
    let lists = cosineLists(maxNeighbors: Self.candidateListLength)
    return ItemKNNListScorer(model: self, lists: lists, reverse: lists.reversed(itemCount: itemCount))
  }

  /// Each item's `maxNeighbors` most similar items with positive cosine
  /// similarity, most similar first (ties by lower index). The similarities
  /// are scaled by the target item's norm, which cancels in the weighted
  /// mean.
  func cosineLists(maxNeighbors: Int) -> NeighbourLists {
    var lists = [[(item: Int32, similarity: Float)]](repeating: [], count: itemCount)
    lists.withUnsafeMutableBufferPointer { output in
      let shared = SharedBuffer(output)
      // Each worker writes only the lists of its own items.
      parallelChunks(itemCount) { chunk in
        let workspace = self.makeWorkspace()
        for item in chunk where self.byItem.count(ofRow: item) > 0 {
          self.fillSimilarityRow(item: item, workspace: workspace, ranked: false)
          var candidates: [(item: Int32, similarity: Float)] = []
          for other in 0..<self.itemCount where workspace.row[other] > 0 {
            candidates.append((Int32(other), workspace.row[other]))
          }
          let ranksAbove = { (a: (item: Int32, similarity: Float), b: (item: Int32, similarity: Float)) in
            a.similarity > b.similarity || (a.similarity == b.similarity && a.item < b.item)
          }
          if candidates.count > maxNeighbors {
            candidates = Array(partialTop(candidates, maxNeighbors, by: ranksAbove))
          }
          candidates.sort(by: ranksAbove)
          shared[item] = candidates
        }
      }
    }
    return NeighbourLists(lists: lists)
  }
}

/// Scores candidates by walking each item's neighbour list until k items
/// the user rated are found.
///
/// A user with few ratings would walk most of every list in vain, so for
/// such users the sums are gathered the other way round: from each rated
/// item through the lists it appears on (`reverse`) to the candidates.
/// Both ways find the same neighbours whenever a candidate has at most k
/// of them on its list; a candidate with more is walked.
struct ItemKNNListScorer: CandidateScorer {
  let model: ItemKNNModel
  let lists: NeighbourLists
  /// For each item j, the items whose lists contain j, with the similarity.
  let reverse: NeighbourLists

  func scores(users: [Int], items: [[Int32]]) -> [[Float]] {
    let k = model.configuration.neighbors
    let fallback = Float(model.globalMean)
    var ratings = [Float](repeating: 0, count: model.itemCount)
    var positions = [Int32](repeating: -1, count: model.itemCount)
    var result: [[Float]] = []
    result.reserveCapacity(users.count)
    for (user, candidates) in zip(users, items) {
      let range = model.byUser.range(ofRow: user)
      guard !range.isEmpty else {
        result.append([Float](repeating: fallback, count: candidates.count))
        continue
      }
      for entry in range { ratings[Int(model.byUser.columns[entry])] = model.byUser.values[entry] }
      var plainMean: Float = 0
      for entry in range.prefix(k) { plainMean += model.byUser.values[entry] }
      plainMean /= Float(min(k, range.count))

      // Gathering visits about one list's length per rated item, walking
      // up to one list per candidate: gather when ratings are far fewer.
      var gathered: (counts: [Int32], similarities: [Float], weighted: [Float])?
      if range.count * 4 <= candidates.count {
        for (position, item) in candidates.enumerated() { positions[Int(item)] = Int32(position) }
        var counts = [Int32](repeating: 0, count: candidates.count)
        var similaritySums = [Float](repeating: 0, count: candidates.count)
        var weightedSums = [Float](repeating: 0, count: candidates.count)
        for entry in range {
          let rated = Int(model.byUser.columns[entry])
          let rating = model.byUser.values[entry]
          for link in reverse.offsets[rated]..<reverse.offsets[rated + 1] {
            let position = Int(positions[Int(reverse.items[link])])
            if position >= 0 {
              counts[position] += 1
              similaritySums[position] += reverse.similarities[link]
              weightedSums[position] += reverse.similarities[link] * rating
            }
          }
        }
        for item in candidates { positions[Int(item)] = -1 }
        gathered = (counts, similaritySums, weightedSums)
      }

      var scores = [Float](repeating: 0, count: candidates.count)
      ratings.withUnsafeBufferPointer { ratings in
        lists.items.withUnsafeBufferPointer { neighbours in
          lists.similarities.withUnsafeBufferPointer { similarities in
            for (position, item) in candidates.enumerated() {
              guard model.byItem.count(ofRow: Int(item)) > 0 else {
                scores[position] = fallback
                continue
              }
              if let gathered, gathered.counts[position] <= Int32(k) {
                let similaritySum = gathered.similarities[position]
                scores[position] =
                  similaritySum > 0 ? gathered.weighted[position] / similaritySum : plainMean
                continue
              }
              var found = 0
              var similaritySum: Float = 0
              var weightedSum: Float = 0
              var entry = lists.offsets[Int(item)]
              let end = lists.offsets[Int(item) + 1]
              while entry < end && found < k {
                let rating = ratings[Int(neighbours[entry])]
                if rating > 0 {
                  similaritySum += similarities[entry]
                  weightedSum += similarities[entry] * rating
                  found += 1
                }
                entry += 1
              }
              scores[position] = similaritySum > 0 ? weightedSum / similaritySum : plainMean
            }
          }
        }
      }
      result.append(scores)
      for entry in range { ratings[Int(model.byUser.columns[entry])] = 0 }
    }
    return result
  }
}
