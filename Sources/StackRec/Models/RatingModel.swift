/// Why a prediction fell back to a model's default instead of its learned
/// terms.
public enum Fallback: String, Sendable, Equatable, CaseIterable {
  case none
  case unknownUser = "unknown-user"
  case unknownItem = "unknown-item"
  case unknownUserAndItem = "unknown-user-and-item"

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
