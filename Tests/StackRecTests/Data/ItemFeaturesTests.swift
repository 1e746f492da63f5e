import Testing

@testable import StackRec

@Suite struct ItemFeaturesTests {
  // MARK: - Release year

  @Test(arguments: [
    ("Heat (1995)", 1995), ("(500) Days of Summer (2009)", 2009), ("Trailing Space (1999) ", 1999),
    ("Earliest (1870)", 1870), ("Latest (2100)", 2100),
  ])
  func releaseYearReadsLastParentheses(title: String, expected: Int) {
    #expect(ItemFeatures.releaseYear(title) == expected)
  }

  @Test(arguments: [
    "Heat", "", "Too Early (1869)", "Too Late (2101)", "Two Digits (95)", "Letters (abcd)",
    "Unclosed (1995", "(1995) Remake",
  ])
  func releaseYearRejectsMissingYear(title: String) {
    #expect(ItemFeatures.releaseYear(title) == nil)
  }

  // MARK: - Features

  // Four movies. "heist" is applied to two movies and becomes a feature;
  // "pacino" and "classic" are applied to one each and do not.
  static let dataset: Dataset = {
    var dataset = makeDataset(
      Ratings(), userCount: 0, itemCount: 4,
      titles: ["Heat (1995)", "Toy Story (1995)", "Untitled", "Casablanca (1942)"],
      genres: ["Action|Crime|Thriller", "Animation|Comedy", "(no genres listed)", "Drama|unknown"])
    dataset.tags = [["heist", "pacino"], ["heist"], [], ["classic"]]
    return dataset
  }()

  /// Returns the features of `item` by name.
  static func namedFeatures(_ features: ItemFeatures, item: Int) -> [String: Float] {
    var result: [String: Float] = [:]
    for entry in features.features(of: item) {
      result[features.names[Int(features.indices[entry])]] = features.values[entry]
    }
    return result
  }

  @Test func genresDecadeAndTagsBecomeFeatures() {
    let features = ItemFeatures.build(dataset: Self.dataset)
    let heat = Self.namedFeatures(features, item: 0)

    #expect(features.itemCount == 4)
    #expect(
      Set(heat.keys)
        == ["genre:Action", "genre:Crime", "genre:Thriller", "decade:1990", "tag:heist"])
    #expect(
      Set(Self.namedFeatures(features, item: 1).keys)
        == ["genre:Animation", "genre:Comedy", "decade:1990", "tag:heist"])
    #expect(Set(Self.namedFeatures(features, item: 3).keys) == ["genre:Drama", "decade:1940"])
  }

  @Test func placeholderGenresAndRareTagsSkipped() {
    let features = ItemFeatures.build(dataset: Self.dataset)

    #expect(Self.namedFeatures(features, item: 2).isEmpty)
    #expect(!features.names.contains("genre:(no genres listed)"))
    #expect(!features.names.contains("genre:unknown"))
    #expect(!features.names.contains("tag:pacino"))
    #expect(!features.names.contains("tag:classic"))
  }

  @Test func everyRowHasUnitLength() {
    // Heat has five features, each 1 / sqrt(5); Casablanca two, 1 / sqrt(2).
    let features = ItemFeatures.build(dataset: Self.dataset)

    for value in Self.namedFeatures(features, item: 0).values {
      #expect(isClose(Double(value), 1 / 5.0.squareRoot(), tolerance: 1e-7))
    }
    for value in Self.namedFeatures(features, item: 3).values {
      #expect(isClose(Double(value), 1 / 2.0.squareRoot(), tolerance: 1e-7))
    }
    for item in [0, 1, 3] {
      let squares = Self.namedFeatures(features, item: item).values.reduce(0.0) {
        $0 + Double($1) * Double($1)
      }
      #expect(isClose(squares, 1, tolerance: 1e-6), "item \(item)")
    }
  }

  @Test func maxTagsKeepsMostAppliedTags() {
    // "common" is on three movies, "beta" and "gamma" on two each. With
    // room for two tags, "common" stays and the tie goes to "beta" by name.
    var dataset = makeDataset(Ratings(), userCount: 0, itemCount: 3)
    dataset.tags = [["common", "gamma", "beta"], ["common", "beta", "gamma"], ["common"]]
    let features = ItemFeatures.build(dataset: dataset, maxTags: 2)

    #expect(Set(features.names) == ["tag:common", "tag:beta"])
    #expect(Set(Self.namedFeatures(features, item: 0).keys) == ["tag:common", "tag:beta"])
  }
}
