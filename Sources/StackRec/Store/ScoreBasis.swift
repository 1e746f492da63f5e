/// A low-rank approximation of one model's score matrix, shared by all users:
///
/// ```
/// base(u, i) = sum_k userTerms[u, k] * itemTerms[i, k]
/// ```
///
/// The store keeps the basis once and, per user, only the small residuals
/// `score(u, i) - base(u, i)`, which compress far better than the scores.
/// The writer and the reader compute `base` with this one function, in
/// `Float`, in the same order, so both see identical values.
public struct ScoreBasis: Sendable, Equatable {
  public let rank: Int
  /// `userCount` rows of `rank` terms.
  public let userTerms: [Float]
  /// `itemCount` rows of `rank` terms.
  public let itemTerms: [Float]

  public init(rank: Int, userTerms: [Float], itemTerms: [Float]) {
    precondition(rank >= 1, "rank must be at least 1")
    precondition(
      userTerms.count % rank == 0 && itemTerms.count % rank == 0,
      "terms must hold whole rows of \(rank)")
    self.rank = rank
    self.userTerms = userTerms
    self.itemTerms = itemTerms
  }

  public var userCount: Int { userTerms.count / rank }
  public var itemCount: Int { itemTerms.count / rank }

  /// Writes `base(user, i)` for every item `i` into `row`.
  func fillRow(user: Int, into row: UnsafeMutableBufferPointer<Float>) {
    precondition(row.count == itemCount, "row must hold \(itemCount) values")
    userTerms.withUnsafeBufferPointer { users in
      itemTerms.withUnsafeBufferPointer { items in
        let userRow = users.baseAddress! + user * rank
        for item in 0..<itemCount {
          row[item] = dotProduct(userRow, items.baseAddress! + item * rank, rank)
        }
      }
    }
  }

  /// `base(user, i)` for each item `i` of `items`.
  func row(user: Int, items: [Int32]) -> [Float] {
    userTerms.withUnsafeBufferPointer { users in
      itemTerms.withUnsafeBufferPointer { terms in
        let userRow = users.baseAddress! + user * rank
        return items.map { dotProduct(userRow, terms.baseAddress! + Int($0) * rank, rank) }
      }
    }
  }

  /// `base(user, item)`.
  func value(user: Int, item: Int) -> Float {
    userTerms.withUnsafeBufferPointer { users in
      itemTerms.withUnsafeBufferPointer { items in
        dotProduct(users.baseAddress! + user * rank, items.baseAddress! + item * rank, rank)
      }
    }
  }

  /// A rank-2 basis of user means and item offsets:
  /// `base(u, i) = a_u + c_i`, with `a_u` the mean of row `u` and `c_i` the
  /// mean over users of `score(u, i) - a_u`. Used for models that offer no
  /// basis of their own.
  static func additive(scores: UnsafeBufferPointer<Float>, userCount: Int, itemCount: Int)
    -> ScoreBasis
  {
    var userMeans = [Double](repeating: 0, count: userCount)
    var itemOffsets = [Double](repeating: 0, count: itemCount)
    for user in 0..<userCount {
      var sum = 0.0
      for item in 0..<itemCount { sum += Double(scores[user * itemCount + item]) }
      userMeans[user] = itemCount > 0 ? sum / Double(itemCount) : 0
      for item in 0..<itemCount {
        itemOffsets[item] += Double(scores[user * itemCount + item]) - userMeans[user]
      }
    }
    var userTerms: [Float] = []
    userTerms.reserveCapacity(userCount * 2)
    for mean in userMeans { userTerms += [Float(mean), 1] }
    var itemTerms: [Float] = []
    itemTerms.reserveCapacity(itemCount * 2)
    for offset in itemOffsets {
      itemTerms += [1, userCount > 0 ? Float(offset / Double(userCount)) : 0]
    }
    return ScoreBasis(rank: 2, userTerms: userTerms, itemTerms: itemTerms)
  }
}

/// The dot product of two `Float` vectors of length `count`, eight lanes
/// at a time. The summation order depends only on `count`, so every caller
/// gets bit-identical results for the same inputs.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
  var index = 0
  var sum: Float = 0
  if count >= 8 {
    var lanes = SIMD8<Float>()
    let rawA = UnsafeRawPointer(a)
    let rawB = UnsafeRawPointer(b)
    while index + 8 <= count {
      let x = rawA.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
      let y = rawB.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
      lanes += x * y
      index += 8
    }
    sum = lanes.sum()
  }
  while index < count {
    sum += a[index] * b[index]
    index += 1
  }
  return sum
}
