/// A sparse matrix in compressed sparse row form.
///
/// Row `r` holds the entries at positions `offsets[r]..<offsets[r + 1]` of
/// `columns` and `values`, with columns in ascending order.
public struct SparseMatrix: Sendable {
  public let rowCount: Int
  public let columnCount: Int
  public let offsets: [Int]
  public let columns: [Int32]
  public let values: [Float]
  /// For each entry, its row in the `Ratings` the matrix was built from.
  public let sources: [Int32]

  /// The number of entries in row `row`.
  @inline(__always)
  public func count(ofRow row: Int) -> Int {
    offsets[row + 1] - offsets[row]
  }

  /// The entry positions of row `row`.
  @inline(__always)
  public func range(ofRow row: Int) -> Range<Int> {
    offsets[row]..<offsets[row + 1]
  }
}

/// The ratings a model fits on, with the views models need.
///
/// `userCount` and `itemCount` are the sizes of the whole dataset's id
/// indices, so every model shares one index space; a user or item with no
/// rows here is unknown to models fitted on this set.
public struct TrainingSet: Sendable {
  public let userCount: Int
  public let itemCount: Int
  public let ratings: Ratings
  /// Users by items, columns sorted.
  public let byUser: SparseMatrix
  /// Items by users, columns sorted.
  public let byItem: SparseMatrix
  /// The mean of all ratings.
  public let globalMean: Double

  public init(ratings: Ratings, userCount: Int, itemCount: Int) {
    self.ratings = ratings
    self.userCount = userCount
    self.itemCount = itemCount
    self.globalMean = ratings.mean

    // Three stable counting sorts: by user, then item, then user again give
    // entries ordered by (item, user) and then by (user, item).
    let byUserFirst = Self.countingSort(
      Array(0..<ratings.count), keys: ratings.users, keyCount: userCount)
    let byItemOrder = Self.countingSort(byUserFirst, keys: ratings.items, keyCount: itemCount)
    let byUserOrder = Self.countingSort(byItemOrder, keys: ratings.users, keyCount: userCount)
    byItem = Self.matrix(
      order: byItemOrder, rowKeys: ratings.items, columnKeys: ratings.users,
      rowCount: itemCount, columnCount: userCount, values: ratings.values)
    byUser = Self.matrix(
      order: byUserOrder, rowKeys: ratings.users, columnKeys: ratings.items,
      rowCount: userCount, columnCount: itemCount, values: ratings.values)
  }

  /// Creates the training set for `rows` of `dataset`.
  public init(dataset: Dataset, rows: [Int]) {
    self.init(
      ratings: dataset.ratings.subset(rows), userCount: dataset.userCount,
      itemCount: dataset.itemCount)
  }

  /// True when `user` has at least one rating here.
  @inline(__always)
  public func isKnown(user: Int32) -> Bool {
    user >= 0 && Int(user) < userCount && byUser.count(ofRow: Int(user)) > 0
  }

  /// True when `item` has at least one rating here.
  @inline(__always)
  public func isKnown(item: Int32) -> Bool {
    item >= 0 && Int(item) < itemCount && byItem.count(ofRow: Int(item)) > 0
  }

  private static func countingSort(_ order: [Int], keys: [Int32], keyCount: Int) -> [Int] {
    var starts = [Int](repeating: 0, count: keyCount + 1)
    for row in order { starts[Int(keys[row]) + 1] += 1 }
    for key in 0..<keyCount { starts[key + 1] += starts[key] }
    var sorted = [Int](repeating: 0, count: order.count)
    for row in order {
      let key = Int(keys[row])
      sorted[starts[key]] = row
      starts[key] += 1
    }
    return sorted
  }

  private static func matrix(
    order: [Int], rowKeys: [Int32], columnKeys: [Int32], rowCount: Int, columnCount: Int,
    values: [Float]
  ) -> SparseMatrix {
    var offsets = [Int](repeating: 0, count: rowCount + 1)
    for row in order { offsets[Int(rowKeys[row]) + 1] += 1 }
    for key in 0..<rowCount { offsets[key + 1] += offsets[key] }
    return SparseMatrix(
      rowCount: rowCount, columnCount: columnCount, offsets: offsets,
      columns: order.map { columnKeys[$0] }, values: order.map { values[$0] },
      sources: order.map { Int32($0) })
  }
}
