import Foundation
import Testing

@testable import StackRec

/// The MovieLens layouts besides ml-latest-small's CSV files: 100k's
/// tab-separated `u.data` with the Latin-1 `u.item`, and the `::`-separated
/// `.dat` files of the 1M and 10M releases.
@Suite struct MovieLensFormatsTests {
  static let dataDirectory = ProcessInfo.processInfo.environment["STACKREC_DATA_DIR"]
  static let hasData = dataDirectory.map {
    FileManager.default.fileExists(atPath: $0 + "/ml-100k/u.data")
  } ?? false

  // MARK: - MovieLens 100k

  @Test(.enabled(if: hasData)) func directoryOf100kLoads() throws {
    let loaded = try MovieLensLoader.load(.directory(Self.dataDirectory! + "/ml-100k"))
    let dataset = loaded.dataset
    // The 100k README: 100,000 ratings by 943 users of 1,682 movies.
    #expect(dataset.ratings.count == 100_000)
    #expect(dataset.userCount == 943)
    #expect(dataset.itemCount == 1682)
    #expect(dataset.hasTimestamps)
    #expect(loaded.droppedDuplicates == 0)
  }

  @Test(.enabled(if: hasData)) func uItemTitlesAndGenresDecode() throws {
    let dataset = try MovieLensLoader.load(.directory(Self.dataDirectory! + "/ml-100k")).dataset
    let toyStory = Int(try #require(dataset.items.index(of: 1)))
    #expect(dataset.titles[toyStory] == "Toy Story (1995)")
    // u.item flags Animation, Children's and Comedy; u.genre names them.
    #expect(dataset.genres[toyStory] == "Animation|Children's|Comedy")
    // Movie 543's title has the Latin-1 byte 0xE9.
    let miserables = Int(try #require(dataset.items.index(of: 543)))
    #expect(dataset.titles[miserables] == "Mis\u{E9}rables, Les (1995)")
  }

  @Test(.enabled(if: hasData)) func foldFilesLoadAsTrainAndTest() throws {
    let directory = Self.dataDirectory! + "/ml-100k"
    let loaded = try MovieLensLoader.load(
      .trainTest(
        train: directory + "/u1.base", test: directory + "/u1.test",
        movies: directory + "/u.item"))
    let split = try #require(loaded.predefinedSplit)
    #expect(split.baseTrain.count == 80_000)
    #expect(split.metaTrain.isEmpty)
    #expect(split.test.count == 20_000)
    #expect(loaded.dataset.itemCount == 1682)
  }

  // MARK: - .dat files

  @Test func datFilesLoad() throws {
    try withTemporaryDirectory { directory in
      try "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n".write(
        toFile: directory + "/ratings.dat", atomically: true, encoding: .utf8)
      var movies = Data("10::Caf".utf8)
      movies.append(0xE9)  // Latin-1, as in the 1M release
      movies.append(contentsOf: Array(" (1999)::Comedy|Drama\n20::Heat (1995)::Action\n".utf8))
      try movies.write(to: URL(fileURLWithPath: directory + "/movies.dat"))

      let loaded = try MovieLensLoader.load(.directory(directory))
      #expect(loaded.dataset.ratings.count == 3)
      #expect(loaded.dataset.userCount == 2)
      #expect(loaded.dataset.ratings.values == [5, 3, 4])
      #expect(loaded.dataset.ratings.timestamps == [978_300_760, 978_302_109, 978_301_968])
      let cafe = Int(try #require(loaded.dataset.items.index(of: 10)))
      #expect(loaded.dataset.titles[cafe] == "Caf\u{E9} (1999)")
      #expect(loaded.dataset.genres[cafe] == "Comedy|Drama")
      #expect(loaded.repairedTitles == 1)
    }
  }

  @Test func datRowWithWrongFieldCountNamesLine() throws {
    try withTemporaryDirectory { directory in
      try "1::10::5::978300760\n1::20::3\n".write(
        toFile: directory + "/ratings.dat", atomically: true, encoding: .utf8)
      #expect(throws: DataError.wrongFieldCount(
        path: directory + "/ratings.dat", line: 2, expected: 4, found: 3)) {
        try MovieLensLoader.load(.directory(directory))
      }
    }
  }

  @Test func directoryWithoutRatingsIsUnknownFormat() throws {
    try withTemporaryDirectory { directory in
      try "x".write(toFile: directory + "/notes.txt", atomically: true, encoding: .utf8)
      let error = try #require(throws: DataError.self) {
        try MovieLensLoader.load(.directory(directory))
      }
      guard case .unknownFormat(let path, let reason) = error else {
        Issue.record("expected unknownFormat, got \(error)")
        return
      }
      #expect(path == directory)
      #expect(reason.contains("u.data"))
      #expect(reason.contains("ratings.dat"))
    }
  }

  @Test func tabFoldFileDetectedByName() throws {
    try withTemporaryDirectory { directory in
      try "1\t10\t4\t881250949\n2\t10\t2\t881250950\n".write(
        toFile: directory + "/u9.base", atomically: true, encoding: .utf8)
      let loaded = try MovieLensLoader.load(.files(ratings: directory + "/u9.base", movies: nil))
      #expect(loaded.dataset.ratings.values == [4, 2])
      #expect(loaded.dataset.userCount == 2)
    }
  }
}
