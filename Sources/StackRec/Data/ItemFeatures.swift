/// Content features of every item, from the movie and tag files: one
/// indicator per genre, per release decade (from the year at the end of the
/// title, such as "Heat (1995)"), and per frequent tag.
///
/// Each item's features are stored sparsely and scaled to unit length, so
/// items with many genres or tags do not get larger content scores.
public struct ItemFeatures: Sendable {
  /// The feature names, such as `genre:Comedy`, `decade:1990` or `tag:funny`.
  public let names: [String]
  /// Item `i`'s features are at `offsets[i]..<offsets[i + 1]`.
  let offsets: [Int]
  let indices: [Int32]
  let values: [Float]

  public var dimension: Int { names.count }
  public var itemCount: Int { offsets.count - 1 }

  /// Builds the features of `dataset`'s items.
  ///
  /// - Parameter maxTags: how many tags become features, the ones applied
  ///   to the most movies first.
  public static func build(dataset: Dataset, maxTags: Int = 30) -> ItemFeatures {
    var names: [String] = []
    var nameIndex: [String: Int32] = [:]
    func index(of name: String) -> Int32 {
      if let existing = nameIndex[name] { return existing }
      let created = Int32(names.count)
      names.append(name)
      nameIndex[name] = created
      return created
    }

    // Tags applied to the most movies, ties broken by name for determinism.
    var tagCounts: [String: Int] = [:]
    for itemTags in dataset.tags {
      for tag in itemTags { tagCounts[tag, default: 0] += 1 }
    }
    let frequentTags = Set(
      tagCounts.filter { $0.value >= 2 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        .prefix(maxTags).map(\.key))

    var offsets = [0]
    var indices: [Int32] = []
    var values: [Float] = []
    for item in 0..<dataset.itemCount {
      var features: [Int32] = []
      for genre in dataset.genres[item].split(separator: "|") {
        let name = String(genre)
        if name == "(no genres listed)" || name == "unknown" { continue }
        features.append(index(of: "genre:" + name))
      }
      if let year = releaseYear(dataset.titles[item]) {
        features.append(index(of: "decade:\(year / 10 * 10)"))
      }
      if item < dataset.tags.count {
        for tag in dataset.tags[item] where frequentTags.contains(tag) {
          features.append(index(of: "tag:" + tag))
        }
      }
      let unique = Array(Set(features)).sorted()
      let length = Float(unique.count).squareRoot()
      for feature in unique {
        indices.append(feature)
        values.append(1 / length)
      }
      offsets.append(indices.count)
    }
    return ItemFeatures(names: names, offsets: offsets, indices: indices, values: values)
  }

  /// The year in parentheses at the end of a MovieLens title, if plausible.
  static func releaseYear(_ title: String) -> Int? {
    let trimmed = title.trimmingSpaces()
    guard trimmed.hasSuffix(")"), let open = trimmed.lastIndex(of: "(") else { return nil }
    let inside = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
    let digits = inside.prefix(4)
    guard digits.count == 4, let year = Int(digits), (1870...2100).contains(year) else {
      return nil
    }
    return year
  }

  /// The features of `item` as (index, value) pairs.
  @inline(__always)
  func features(of item: Int) -> Range<Int> {
    offsets[item]..<offsets[item + 1]
  }
}
