/// The rows of a dataset divided into base-train, meta-train and test.
///
/// Base models fit on base-train; the stacking meta-learner fits on the base
/// models' predictions for meta-train; test is held out for evaluation.
public struct Split: Sendable, Equatable {
  public var baseTrain: [Int]
  public var metaTrain: [Int]
  public var test: [Int]

  public init(baseTrain: [Int], metaTrain: [Int], test: [Int]) {
    self.baseTrain = baseTrain
    self.metaTrain = metaTrain
    self.test = test
  }

  /// Shuffles the rows `0..<rowCount` with `SeededGenerator(seed:)` and cuts
  /// them as the scikit-learn `train_test_split` protocol does: the first
  /// `ceil(testFraction * n)` shuffled rows are the test set; of the rest,
  /// the first `ceil(metaFraction * rest)` are meta-train and the remainder
  /// base-train.
  ///
  /// On MovieLens ml-latest-small (100,836 rows) this gives 64,534 / 16,134
  /// / 20,168 rows. The rows differ from scikit-learn's for the same seed,
  /// because the generator differs.
  public static func random(
    rowCount: Int, seed: UInt64, testFraction: Double = 0.2, metaFraction: Double = 0.2
  ) -> Split {
    precondition(
      (0...1).contains(testFraction) && (0...1).contains(metaFraction),
      "fractions must lie in 0...1, got test \(testFraction) and meta \(metaFraction)")
    var generator = SeededGenerator(seed: seed)
    var order = Array(0..<rowCount)
    generator.shuffle(&order)

    let testCount = Int((testFraction * Double(rowCount)).rounded(.up))
    let rest = rowCount - testCount
    let metaCount = Int((metaFraction * Double(rest)).rounded(.up))
    return Split(
      baseTrain: Array(order[(testCount + metaCount)...]),
      metaTrain: Array(order[testCount..<(testCount + metaCount)]),
      test: Array(order[..<testCount]))
  }

  /// All training rows: base-train followed by meta-train.
  public var trainFull: [Int] { baseTrain + metaTrain }
}
