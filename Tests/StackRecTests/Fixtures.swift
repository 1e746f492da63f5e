import Foundation

@testable import StackRec

// Helpers shared by the unit tests: temporary directories, fixture files and
// small rating sets built by hand or drawn from a seeded generator.

/// Runs `body` with the path of a fresh directory under the system's
/// temporary directory, and removes the directory and its contents afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
  let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("stackrec-tests-\(UUID().uuidString)").path
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
  defer { try? FileManager.default.removeItem(atPath: path) }
  return try body(path)
}

/// Writes `bytes` to the file `name` in `directory` and returns its path.
@discardableResult
func writeFixture(_ bytes: [UInt8], named name: String, in directory: String) throws -> String {
  let path = directory + "/" + name
  try Data(bytes).write(to: URL(fileURLWithPath: path))
  return path
}

/// Writes `text` as UTF-8 to the file `name` in `directory` and returns its path.
@discardableResult
func writeFixture(_ text: String, named name: String, in directory: String) throws -> String {
  try writeFixture(Array(text.utf8), named: name, in: directory)
}

/// Returns the names of the entries in `directory`, sorted.
func directoryEntries(_ directory: String) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

/// Builds ratings from `(user, item, value)` triples, with timestamp 0.
func makeRatings(_ triples: [(Int32, Int32, Float)]) -> Ratings {
  Ratings(
    users: triples.map(\.0), items: triples.map(\.1), values: triples.map(\.2),
    timestamps: [Int64](repeating: 0, count: triples.count))
}

/// Builds a training set from `(user, item, value)` triples over an index
/// space of `userCount` users and `itemCount` items.
func makeTrainingSet(
  _ triples: [(Int32, Int32, Float)], userCount: Int, itemCount: Int
) -> TrainingSet {
  TrainingSet(ratings: makeRatings(triples), userCount: userCount, itemCount: itemCount)
}

/// Ratings on the half-star scale for about `density` of the pairs of a
/// `userCount` x `itemCount` matrix, drawn from `SeededGenerator(seed:)`.
/// The last user and the last item get no ratings, so that every model has
/// an unknown user and an unknown item inside its index space.
func randomRatings(userCount: Int, itemCount: Int, density: Double, seed: UInt64) -> Ratings {
  var generator = SeededGenerator(seed: seed)
  var ratings = Ratings()
  for user in 0..<userCount - 1 {
    for item in 0..<itemCount - 1 where generator.nextUnit() < density {
      let halfStars = 1 + generator.nextInt(below: 10)
      ratings.append(
        user: Int32(user), item: Int32(item), value: Float(halfStars) / 2, timestamp: 0)
    }
  }
  return ratings
}

/// Builds the users x items matrix of `ratings`, with 0 where a pair has no rating.
func denseMatrix(_ ratings: Ratings, userCount: Int, itemCount: Int) -> [[Double]] {
  var matrix = [[Double]](
    repeating: [Double](repeating: 0, count: itemCount), count: userCount)
  for row in 0..<ratings.count {
    matrix[Int(ratings.users[row])][Int(ratings.items[row])] = Double(ratings.values[row])
  }
  return matrix
}

/// Returns every (user, item) pair of the index space, users in the outer
/// loop, plus a negative index on each side.
func allPairs(userCount: Int, itemCount: Int) -> (users: [Int32], items: [Int32]) {
  var users: [Int32] = []
  var items: [Int32] = []
  for user in -1..<userCount {
    for item in -1..<itemCount {
      users.append(Int32(user))
      items.append(Int32(item))
    }
  }
  return (users, items)
}

/// Returns whether `a` and `b` differ by at most `tolerance`.
func isClose(_ a: Double, _ b: Double, tolerance: Double = 1e-9) -> Bool {
  abs(a - b) <= tolerance
}

/// A logger that drops every event, for running experiments quietly.
let silentLogger = Logger(label: "test", threshold: .critical)

/// Builds a dataset whose user and item ids equal their indices, with
/// empty titles and genres unless given, on the 0.5 to 5 scale.
func makeDataset(
  _ ratings: Ratings, userCount: Int, itemCount: Int, titles: [String]? = nil,
  genres: [String]? = nil, hasTimestamps: Bool = false
) -> Dataset {
  Dataset(
    users: IDIndex(ids: (0..<Int32(userCount)).map { $0 }),
    items: IDIndex(ids: (0..<Int32(itemCount)).map { $0 }), ratings: ratings,
    titles: titles ?? [String](repeating: "", count: itemCount),
    genres: genres ?? [String](repeating: "", count: itemCount), ratingScale: 0.5...5,
    hasTimestamps: hasTimestamps, fingerprint: "")
}
