/// Ratings in columnar form: row `k` says that user `users[k]` gave item
/// `items[k]` the rating `values[k]` at `timestamps[k]` (seconds since 1970,
/// or 0 when the input had no timestamp). Users and items are dense indices
/// into a dataset's `IDIndex`es.
public struct Ratings: Sendable, Equatable {
  public var users: [Int32] = []
  public var items: [Int32] = []
  public var values: [Float] = []
  public var timestamps: [Int64] = []

  public init() {}

  public init(users: [Int32], items: [Int32], values: [Float], timestamps: [Int64]) {
    precondition(
      users.count == items.count && items.count == values.count
        && values.count == timestamps.count,
      "rating columns differ in length: \(users.count), \(items.count), \(values.count), \(timestamps.count)"
    )
    self.users = users
    self.items = items
    self.values = values
    self.timestamps = timestamps
  }

  public var count: Int { users.count }

  public mutating func reserveCapacity(_ capacity: Int) {
    users.reserveCapacity(capacity)
    items.reserveCapacity(capacity)
    values.reserveCapacity(capacity)
    timestamps.reserveCapacity(capacity)
  }

  public mutating func append(user: Int32, item: Int32, value: Float, timestamp: Int64) {
    users.append(user)
    items.append(item)
    values.append(value)
    timestamps.append(timestamp)
  }

  /// The rows at `rows`, in that order.
  public func subset<C: Collection>(_ rows: C) -> Ratings where C.Element == Int {
    var result = Ratings()
    result.reserveCapacity(rows.count)
    for row in rows {
      result.append(user: users[row], item: items[row], value: values[row], timestamp: timestamps[row])
    }
    return result
  }

  /// The mean rating, or 0 when there are no rows.
  public var mean: Double {
    guard !values.isEmpty else { return 0 }
    var sum = 0.0
    for value in values { sum += Double(value) }
    return sum / Double(values.count)
  }
}
