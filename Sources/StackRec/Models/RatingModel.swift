/// Why a prediction fell back to a model's default instead of its learned
/// terms.
public enum Fallback: String, Sendable, Equatable, CaseIterable {
  case none
  case unknownUser = "unknown-user"
  case unknownItem = "unknown-item"
  case unknownUserAndItem = "unknown-user-and-item"
  /// The pair is outside the user's candidates in a candidate-limited
  /// store, so the score comes from the models' low-rank estimates.
  case notCandidate = "not-candidate"

  public init(userKnown: Bool, itemKnown: Bool) {
    switch (userKnown, itemKnown) {
    case (true, true): self = .none
    case (false, true): self = .unknownUser
    case (true, false): self = .unknownItem
    case (false, false): self = .unknownUserAndItem
    }
  }
}

/// One model's estimate for one (user, item) pair.
public struct Prediction: Sendable, Equatable {
  public var value: Double
  public var fallback: Fallback

  public init(_ value: Double, fallback: Fallback = .none) {
    self.value = value
    self.fallback = fallback
  }
}

/// A fitted rating model.
///
/// Users and items are dense indices of the dataset the model was fitted
/// on. A negative index, or one with no training ratings, is unknown, and
/// each model documents what it predicts then.
public protocol RatingModel: Sendable {
  /// The short name used in reports and stores, such as `item_knn`.
  var key: String { get }

  /// The number of users and items in the index space the model covers.
  var userCount: Int { get }
  var itemCount: Int { get }

  /// Predicts the rating `user` would give `item`.
  func predict(user: Int32, item: Int32) -> Prediction

  /// Predicts many pairs at once; the result's `k`th value is for
  /// `(users[k], items[k])`.
  func predict(users: [Int32], items: [Int32]) -> [Double]

  /// Predicts many pairs at the given rating times (seconds since 1970),
  /// or without a time when `timestamps` is nil. Models without a time
  /// term ignore the times.
  func predict(users: [Int32], items: [Int32], timestamps: [Int64]?) -> [Double]

  /// Writes the score of every item for each user in `users` into `output`,
  /// one row of `itemCount` scores per user, in order.
  func scoreAll(users: Range<Int>, into output: UnsafeMutableBufferPointer<Float>)

  /// Writes the score of every (user, item) pair into `output`, which holds
  /// `userCount * itemCount` values, one row per user. Work is spread over
  /// the worker threads.
  func scoreMatrix(into output: UnsafeMutableBufferPointer<Float>)

  /// Writes the score of every item for each user of `users`, in order,
  /// into `output` (`users.count` rows of `itemCount`). Work is spread over
  /// the worker threads.
  func scoreRows(users: [Int], into output: UnsafeMutableBufferPointer<Float>)

  /// A scorer for a few items per user at a time, for candidate-limited
  /// stores. It may precompute structures (such as neighbour lists) that
  /// make these scores cheap.
  func makeCandidateScorer() -> any CandidateScorer

  /// A low-rank form of the model's scores that the feature store uses to
  /// predict them, or nil when the model has none. It need not be exact:
  /// the store keeps every score's difference from it.
  func scoreBasis() -> ScoreBasis?
}

extension RatingModel {
  public func predict(users: [Int32], items: [Int32]) -> [Double] {
    precondition(users.count == items.count, "\(users.count) users but \(items.count) items")
    var result = [Double](repeating: 0, count: users.count)
    for index in 0..<users.count {
      result[index] = predict(user: users[index], item: items[index]).value
    }
    return result
  }

  public func predict(users: [Int32], items: [Int32], timestamps: [Int64]?) -> [Double] {
    predict(users: users, items: items)
  }

  public func scoreAll(users: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count >= users.count * itemCount, "output too small")
    var position = 0
    for user in users {
      for item in 0..<itemCount {
        output[position] = Float(predict(user: Int32(user), item: Int32(item)).value)
        position += 1
      }
    }
  }

  public func scoreMatrix(into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count == userCount * itemCount, "output must hold users x items scores")
    let shared = SharedBuffer(output)
    let columns = itemCount
    // Each worker owns the output rows of its own users.
    parallelChunks(userCount) { users in
      let slice = UnsafeMutableBufferPointer(
        start: shared.base + users.lowerBound * columns, count: users.count * columns)
      self.scoreAll(users: users, into: slice)
    }
  }

  public func scoreBasis() -> ScoreBasis? { nil }

  public func scoreRows(users: [Int], into output: UnsafeMutableBufferPointer<Float>) {
    precondition(output.count == users.count * itemCount, "output must hold users x items scores")
    let shared = SharedBuffer(output)
    let columns = itemCount
    // Each worker owns the output rows of its own positions in `users`.
    parallelChunks(users.count) { positions in
      for position in positions {
        let row = UnsafeMutableBufferPointer(start: shared.base + position * columns, count: columns)
        self.scoreAll(users: users[position]..<(users[position] + 1), into: row)
      }
    }
  }

  public func makeCandidateScorer() -> any CandidateScorer {
    BatchCandidateScorer(model: self)
  }

  /// The scores for a user the model has never seen, one per item.
  public func unknownUserScores() -> [Float] {
    (0..<itemCount).map { Float(predict(user: -1, item: Int32($0)).value) }
  }

  /// The scores for an item the model has never seen, one per user.
  public func unknownItemScores() -> [Float] {
    (0..<userCount).map { Float(predict(user: Int32($0), item: -1).value) }
  }

  /// The score when neither the user nor the item is known.
  public func unknownUserAndItemScore() -> Float {
    Float(predict(user: -1, item: -1).value)
  }
}

/// Scores a list of items for each of a block of users.
public protocol CandidateScorer: Sendable {
  /// The model's score of each of `items[k]` (ascending) for `users[k]`.
  /// Called from several threads at once, for different users.
  func scores(users: [Int], items: [[Int32]]) -> [[Float]]
}

/// Scores candidates through the model's batch prediction.
struct BatchCandidateScorer<Model: RatingModel>: CandidateScorer {
  let model: Model

  func scores(users: [Int], items: [[Int32]]) -> [[Float]] {
    var pairUsers: [Int32] = []
    var pairItems: [Int32] = []
    for (user, list) in zip(users, items) {
      pairUsers += [Int32](repeating: Int32(user), count: list.count)
      pairItems += list
    }
    let values = model.predict(users: pairUsers, items: pairItems)
    var result: [[Float]] = []
    var offset = 0
    for list in items {
      result.append(values[offset..<(offset + list.count)].map { Float($0) })
      offset += list.count
    }
    return result
  }
}
