import Testing

@testable import StackRec

@Suite struct TrainingSetTests {
  // Rows in no particular order; user 3 and item 4 have no ratings.
  static let triples: [(Int32, Int32, Float)] = [
    (2, 1, 3), (0, 3, 1), (1, 0, 4), (0, 0, 5), (2, 0, 2.5), (0, 1, 3.5),
  ]
  static let training = makeTrainingSet(triples, userCount: 4, itemCount: 5)

  /// Returns the entries of one sparse row as (column, value, source row) triples.
  static func entries(_ matrix: SparseMatrix, row: Int) -> [[Double]] {
    matrix.range(ofRow: row).map {
      [Double(matrix.columns[$0]), Double(matrix.values[$0]), Double(matrix.sources[$0])]
    }
  }

  @Test func byUserListsItemsInOrder() {
    let byUser = Self.training.byUser
    #expect(byUser.rowCount == 4)
    #expect(byUser.columnCount == 5)
    #expect(Self.entries(byUser, row: 0) == [[0, 5, 3], [1, 3.5, 5], [3, 1, 1]])
    #expect(Self.entries(byUser, row: 1) == [[0, 4, 2]])
    #expect(Self.entries(byUser, row: 2) == [[0, 2.5, 4], [1, 3, 0]])
    #expect(Self.entries(byUser, row: 3) == [])
  }

  @Test func byItemListsUsersInOrder() {
    let byItem = Self.training.byItem
    #expect(byItem.rowCount == 5)
    #expect(byItem.columnCount == 4)
    #expect(Self.entries(byItem, row: 0) == [[0, 5, 3], [1, 4, 2], [2, 2.5, 4]])
    #expect(Self.entries(byItem, row: 1) == [[0, 3.5, 5], [2, 3, 0]])
    #expect(Self.entries(byItem, row: 2) == [])
    #expect(Self.entries(byItem, row: 3) == [[0, 1, 1]])
    #expect(Self.entries(byItem, row: 4) == [])
  }

  @Test func randomSetMatchesDenseMatrix() {
    let ratings = randomRatings(userCount: 30, itemCount: 20, density: 0.3, seed: 8)
    let training = TrainingSet(ratings: ratings, userCount: 30, itemCount: 20)
    let dense = denseMatrix(ratings, userCount: 30, itemCount: 20)
    for user in 0..<30 {
      let expected = (0..<20).filter { dense[user][$0] != 0 }
      let range = training.byUser.range(ofRow: user)
      #expect(range.map { Int(training.byUser.columns[$0]) } == expected, "user \(user)")
      #expect(
        range.map { Double(training.byUser.values[$0]) } == expected.map { dense[user][$0] },
        "user \(user)")
    }
    for item in 0..<20 {
      let expected = (0..<30).filter { dense[$0][item] != 0 }
      let range = training.byItem.range(ofRow: item)
      #expect(range.map { Int(training.byItem.columns[$0]) } == expected, "item \(item)")
    }
  }

  @Test func knownMeansHasRatings() {
    #expect(Self.training.isKnown(user: 0))
    #expect(!Self.training.isKnown(user: 3))
    #expect(!Self.training.isKnown(user: -1))
    #expect(!Self.training.isKnown(user: 4))
    #expect(Self.training.isKnown(item: 3))
    #expect(!Self.training.isKnown(item: 2))
    #expect(!Self.training.isKnown(item: 4))
    #expect(!Self.training.isKnown(item: -1))
  }

  @Test func globalMeanIsMeanRating() {
    // (3 + 1 + 4 + 5 + 2.5 + 3.5) / 6 = 19 / 6
    #expect(isClose(Self.training.globalMean, 19.0 / 6))
  }

  @Test func datasetRowsKeepIndexSpace() {
    let ratings = makeRatings(Self.triples)
    let dataset = Dataset(
      users: IDIndex(ids: [100, 200, 300, 400]), items: IDIndex(ids: [1, 2, 3, 4, 5]),
      ratings: ratings, titles: [String](repeating: "", count: 5),
      genres: [String](repeating: "", count: 5), ratingScale: 0.5...5, hasTimestamps: false,
      fingerprint: "")
    let training = TrainingSet(dataset: dataset, rows: [3, 1])
    #expect(training.userCount == 4)
    #expect(training.itemCount == 5)
    #expect(training.ratings.values == [5, 1])
    #expect(isClose(training.globalMean, 3))
    #expect(!training.isKnown(user: 1))
  }
}
