/// A MovieLens user id, as written in the input files.
public struct UserID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }
  public init(_ rawValue: Int32) { self.rawValue = rawValue }
  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
  public var description: String { String(rawValue) }
}

/// A MovieLens movie id, as written in the input files.
public struct ItemID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }
  public init(_ rawValue: Int32) { self.rawValue = rawValue }
  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
  public var description: String { String(rawValue) }
}

/// A map between external ids and dense positions `0..<count`.
///
/// Ids are kept sorted, so position order is id order. Models and stores
/// work with positions (`Int32`, called indices); ids appear only at the
/// edges, in input files, reports and protocol replies. Lookups use a direct
/// table when the ids are dense enough and a dictionary otherwise.
public struct IDIndex: Sendable, Equatable {
  /// The ids in ascending order; an id's position is its index.
  public let ids: [Int32]
  private let direct: [Int32]
  private let dictionary: [Int32: Int32]

  /// Creates an index over the distinct values of `ids`, which need not be
  /// sorted and may repeat.
  public init<S: Sequence>(ids: S) where S.Element == Int32 {
    var sorted = Array(ids)
    sorted.sort()
    var unique: [Int32] = []
    unique.reserveCapacity(sorted.count)
    for id in sorted where unique.last != id {
      unique.append(id)
    }
    self.init(sortedUniqueIDs: unique)
  }

  init(sortedUniqueIDs ids: [Int32]) {
    self.ids = ids
    let maxID = Int(ids.last ?? 0)
    let useDirect = ids.first.map { $0 >= 0 } ?? true && maxID <= max(8 * ids.count, 1 << 20)
    if useDirect {
      var table = [Int32](repeating: -1, count: ids.isEmpty ? 0 : maxID + 1)
      for (position, id) in ids.enumerated() {
        table[Int(id)] = Int32(position)
      }
      direct = table
      dictionary = [:]
    } else {
      direct = []
      var map: [Int32: Int32] = [:]
      map.reserveCapacity(ids.count)
      for (position, id) in ids.enumerated() {
        map[id] = Int32(position)
      }
      dictionary = map
    }
  }

  public var count: Int { ids.count }

  /// Returns the position of `id`, or nil when the id is not in the index.
  @inline(__always)
  public func index(of id: Int32) -> Int32? {
    if !direct.isEmpty || dictionary.isEmpty {
      guard id >= 0 && Int(id) < direct.count else { return nil }
      let position = direct[Int(id)]
      return position >= 0 ? position : nil
    }
    return dictionary[id]
  }

  public static func == (lhs: IDIndex, rhs: IDIndex) -> Bool {
    lhs.ids == rhs.ids
  }
}
