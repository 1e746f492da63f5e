import Testing

@testable import StackRec

/// Out-of-fold stacking: each training row is predicted by base models that
/// never saw it, the meta-learner fits those predictions, and the reported
/// base models are refit on all training rows.
@Suite struct ExperimentOutOfFoldTests {
  // MARK: - Fold assignment

  @Test(arguments: [2, 3, 5])
  func foldsHaveNearEqualSizes(folds: Int) {
    // Rows are dealt in turn after a shuffle, so fold f gets
    // count / folds rows, plus one when f < count % folds.
    for count in [1, 7, 100, 101, 263] {
      let assignment = Experiment.foldAssignment(count: count, folds: folds, seed: 42)
      #expect(assignment.count == count)
      for fold in 0..<folds {
        let size = assignment.filter { $0 == fold }.count
        let expected = count / folds + (fold < count % folds ? 1 : 0)
        #expect(size == expected, "count \(count), fold \(fold)")
      }
      #expect(assignment.allSatisfy { (0..<folds).contains($0) }, "count \(count)")
    }
  }

  @Test func foldAssignmentFollowsSeed() {
    let first = Experiment.foldAssignment(count: 100, folds: 5, seed: 42)
    let again = Experiment.foldAssignment(count: 100, folds: 5, seed: 42)
    let other = Experiment.foldAssignment(count: 100, folds: 5, seed: 43)

    #expect(first == again)
    #expect(first != other)
    #expect(first != (0..<100).map { $0 % 5 })
  }

  // MARK: - Out-of-fold predictions

  static let userCount = 29
  static let itemCount = 19

  /// Random ratings for users 0-27 and items 0-17, then user 28 rates items
  /// 0-5 and item 18 is rated by users 0-5, all with 1, and user 28 rates
  /// item 18 with 5. That last rating is the only 5 of user 28 and of item
  /// 18, so a bias model that saw it would predict far above 1 for it.
  static let dataset: Dataset = {
    var ratings = randomRatings(userCount: userCount, itemCount: itemCount, density: 0.5, seed: 61)
    for other in Int32(0)..<6 {
      ratings.append(user: 28, item: other, value: 1, timestamp: 0)
      ratings.append(user: other, item: 18, value: 1, timestamp: 0)
    }
    ratings.append(user: 28, item: 18, value: 5, timestamp: 0)
    return makeDataset(ratings, userCount: userCount, itemCount: itemCount)
  }()
  static var uniqueRow: Int { dataset.ratings.count - 1 }

  /// Fits the bias model with plain loops on `trainingRows` of the dataset
  /// and returns its prediction for `row`.
  static func naiveBias(trainingRows: [Int], row: Int) -> Double {
    let ratings = dataset.ratings
    let mu = trainingRows.reduce(0.0) { $0 + Double(ratings.values[$1]) } / Double(trainingRows.count)
    let userRows = trainingRows.filter { ratings.users[$0] == ratings.users[row] }
    let itemRows = trainingRows.filter { ratings.items[$0] == ratings.items[row] }
    var prediction = mu
    if !userRows.isEmpty {
      prediction += userRows.reduce(0.0) { $0 + Double(ratings.values[$1]) } / Double(userRows.count) - mu
    }
    if !itemRows.isEmpty {
      prediction += itemRows.reduce(0.0) { $0 + Double(ratings.values[$1]) } / Double(itemRows.count) - mu
    }
    return prediction
  }

  /// Computes out-of-fold bias predictions independently: each row is
  /// predicted by the naive bias model fitted on the other folds' rows.
  static func naiveOutOfFold(rows: [Int], folds: Int, seed: UInt64) -> [Double] {
    let assignment = Experiment.foldAssignment(count: rows.count, folds: folds, seed: seed)
    return rows.indices.map { position in
      let kept = rows.indices.filter { assignment[$0] != assignment[position] }.map { rows[$0] }
      return naiveBias(trainingRows: kept, row: rows[position])
    }
  }

  static func outOfFold(rows: [Int], folds: Int, seed: UInt64) -> [Double] {
    Experiment.outOfFoldPredictions(
      [.bias], dataset: dataset, rows: rows, folds: folds, seed: seed,
      context: FitContext(logger: silentLogger))[0]
  }

  @Test(arguments: [2, 3, 5])
  func biasMatchesComplementFits(folds: Int) {
    let rows = Array(0..<Self.dataset.ratings.count)
    let predictions = Self.outOfFold(rows: rows, folds: folds, seed: 42)
    let expected = Self.naiveOutOfFold(rows: rows, folds: folds, seed: 42)

    #expect(predictions.count == rows.count)
    for position in rows.indices {
      #expect(isClose(predictions[position], expected[position]), "row \(rows[position])")
    }
  }

  @Test func uniqueRatingNeverSeenByItsModel() throws {
    // Without the 5, user 28 and item 18 have only ratings of 1 in the
    // other folds, so the prediction is mu' + (1 - mu') + (1 - mu') = 2 - mu',
    // with mu' the mean of the other folds' ratings. Had the model seen
    // the 5, both biases would include it.
    let rows = Array(0..<Self.dataset.ratings.count)
    let assignment = Experiment.foldAssignment(count: rows.count, folds: 3, seed: 42)
    let ratings = Self.dataset.ratings
    let kept = rows.filter { assignment[$0] != assignment[Self.uniqueRow] }
    try #require(kept.contains { ratings.users[$0] == 28 })
    try #require(kept.contains { ratings.items[$0] == 18 })
    let mu = kept.reduce(0.0) { $0 + Double(ratings.values[$1]) } / Double(kept.count)
    let predictions = Self.outOfFold(rows: rows, folds: 3, seed: 42)

    #expect(isClose(predictions[Self.uniqueRow], 2 - mu))
    #expect(predictions[Self.uniqueRow] < 2)
  }

  @Test func rowsSubsetKeepsPositions() {
    // Out-of-fold predictions follow the order of `rows`, which need not
    // be the dataset's order or cover it.
    let rows = Array((0..<Self.dataset.ratings.count).reversed().filter { $0 % 3 != 1 })
    let predictions = Self.outOfFold(rows: rows, folds: 4, seed: 7)
    let expected = Self.naiveOutOfFold(rows: rows, folds: 4, seed: 7)

    for position in rows.indices {
      #expect(isClose(predictions[position], expected[position]), "row \(rows[position])")
    }
  }

  // MARK: - Experiment with out-of-fold stacking

  static let split = Split.random(rowCount: dataset.ratings.count, seed: 3)

  static func run(_ stacking: Stacking) -> ExperimentResult {
    Experiment.run(
      dataset: dataset, split: split,
      plan: ExperimentPlan(models: [.bias], stacking: stacking, seed: 42, rankingK: 0),
      logger: silentLogger)
  }

  static let outOfFoldResult = run(.outOfFold(folds: 3))

  @Test func reportedModelRefitsOnAllTraining() throws {
    // The reported bias model's test predictions are those of a model fitted
    // on base-train and meta-train together, whose global mean differs
    // from base-train's alone.
    let trainRows = Self.split.baseTrain + Self.split.metaTrain
    let ratings = Self.dataset.ratings
    let mean = trainRows.reduce(0.0) { $0 + Double(ratings.values[$1]) } / Double(trainRows.count)
    let baseMean =
      Self.split.baseTrain.reduce(0.0) { $0 + Double(ratings.values[$1]) }
      / Double(Self.split.baseTrain.count)
    try #require(!isClose(mean, baseMean, tolerance: 1e-6))
    let model = try #require(Self.outOfFoldResult.models.first)
    let testPredictions = try #require(Self.outOfFoldResult.testPredictions["bias"])

    #expect(isClose(model.predict(user: -1, item: -1).value, mean))
    for (position, row) in Self.split.test.enumerated() {
      let expected = Self.naiveBias(trainingRows: trainRows, row: row)
      #expect(isClose(testPredictions[position], expected), "row \(row)")
    }
  }

  @Test func holdoutModelFitsBaseTrainOnly() throws {
    let ratings = Self.dataset.ratings
    let baseMean =
      Self.split.baseTrain.reduce(0.0) { $0 + Double(ratings.values[$1]) }
      / Double(Self.split.baseTrain.count)
    let model = try #require(Self.run(.holdout).models.first)

    #expect(isClose(model.predict(user: -1, item: -1).value, baseMean))
  }

  @Test func metaLearnerFitsOutOfFoldPredictions() throws {
    // The least-squares blend is the regression line of the training
    // ratings on the independent out-of-fold predictions, over base-train
    // followed by meta-train.
    let trainRows = Self.split.baseTrain + Self.split.metaTrain
    let x = Self.naiveOutOfFold(rows: trainRows, folds: 3, seed: 42)
    let y = trainRows.map { Double(Self.dataset.ratings.values[$0]) }
    let meanX = x.reduce(0, +) / Double(x.count)
    let meanY = y.reduce(0, +) / Double(y.count)
    var sxx = 0.0
    var sxy = 0.0
    for (a, b) in zip(x, y) {
      sxx += (a - meanX) * (a - meanX)
      sxy += (a - meanX) * (b - meanY)
    }
    let weight = sxy / sxx
    let intercept = meanY - weight * meanX
    let blend = try #require(Self.outOfFoldResult.blends["stacked"])

    #expect(isClose(blend.weights[0], weight, tolerance: 1e-9))
    #expect(isClose(blend.intercept, intercept, tolerance: 1e-9))
    #expect(isClose(Self.outOfFoldResult.metaRMSE["bias"] ?? .nan, Metrics.rmse(x, y)))
  }

  @Test func blendAppliesToTestPredictions() throws {
    let blend = try #require(Self.outOfFoldResult.blends["stacked"])
    let base = try #require(Self.outOfFoldResult.testPredictions["bias"])
    let stacked = try #require(Self.outOfFoldResult.testPredictions["stacked"])
    let best = try #require(Self.outOfFoldResult.testPredictions["best"])

    #expect(stacked.count == Self.split.test.count)
    for sample in stacked.indices {
      let expected = blend.intercept + blend.weights[0] * base[sample]
      #expect(isClose(stacked[sample], expected), "sample \(sample)")
    }
    #expect(best == stacked)
  }
}
