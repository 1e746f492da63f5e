import Testing

@testable import StackRec

@Suite struct ExperimentTests {
  static let userCount = 40
  static let itemCount = 25

  /// A dataset of random half-star ratings with ids equal to indices.
  static let dataset: Dataset = {
    let ratings = randomRatings(
      userCount: userCount, itemCount: itemCount, density: 0.5, seed: 77)
    return Dataset(
      users: IDIndex(ids: (0..<Int32(userCount)).map { $0 }),
      items: IDIndex(ids: (0..<Int32(itemCount)).map { $0 }), ratings: ratings,
      titles: [String](repeating: "", count: itemCount),
      genres: [String](repeating: "", count: itemCount), ratingScale: 0.5...5,
      hasTimestamps: false, fingerprint: "")
  }()
  static let split = Split.random(rowCount: dataset.ratings.count, seed: 3)

  static let configuration: ModelConfiguration = {
    var configuration = ModelConfiguration()
    configuration.knn.neighbors = 5
    configuration.mf.factors = 4
    configuration.mf.epochs = 6
    return configuration
  }()

  static let result = Experiment.run(
    dataset: dataset, split: split, configuration: configuration, logger: silentLogger)

  @Test func accuracyListsModelsInBlendOrder() {
    #expect(
      Self.result.test.map(\.key)
        == ["bias", "item_knn", "mf", "average", "stacked", "ridge", "nnls", "fwls", "best"])
    #expect(Self.result.models.map(\.key) == Experiment.baseModelKeys)
  }

  @Test func splitSizesMatchSplit() {
    #expect(Self.result.splitSizes.baseTrain == Self.split.baseTrain.count)
    #expect(Self.result.splitSizes.metaTrain == Self.split.metaTrain.count)
    #expect(Self.result.splitSizes.test == Self.split.test.count)
  }

  @Test func biasRMSEMatchesNaiveModel() {
    // The bias model fitted with plain loops on base-train rows only, then
    // scored on the test rows.
    let ratings = Self.dataset.ratings
    var total = 0.0
    var userSums: [Int32: (Double, Int)] = [:]
    var itemSums: [Int32: (Double, Int)] = [:]
    for row in Self.split.baseTrain {
      let value = Double(ratings.values[row])
      total += value
      userSums[ratings.users[row], default: (0, 0)].0 += value
      userSums[ratings.users[row], default: (0, 0)].1 += 1
      itemSums[ratings.items[row], default: (0, 0)].0 += value
      itemSums[ratings.items[row], default: (0, 0)].1 += 1
    }
    let mu = total / Double(Self.split.baseTrain.count)
    var squaredError = 0.0
    for row in Self.split.test {
      var prediction = mu
      if let (sum, count) = userSums[ratings.users[row]] { prediction += sum / Double(count) - mu }
      if let (sum, count) = itemSums[ratings.items[row]] { prediction += sum / Double(count) - mu }
      let error = prediction - Double(ratings.values[row])
      squaredError += error * error
    }
    let expected = (squaredError / Double(Self.split.test.count)).squareRoot()

    #expect(isClose(Self.result.test[0].rmse, expected))
  }

  @Test func stackerFitsMetaTrainPredictions() {
    let meta = Self.dataset.ratings.subset(Self.split.metaTrain)
    let predictions = Self.result.models.map { $0.predict(users: meta.users, items: meta.items) }
    let expected = LinearStacker.fit(
      predictions: predictions, targets: meta.values.map(Double.init))

    #expect(Self.result.stacker.intercept == expected.intercept)
    #expect(Self.result.stacker.weights == expected.weights)
    for (model, values) in zip(Self.result.models, predictions) {
      let rmse = Metrics.rmse(values, meta.values.map(Double.init))
      #expect(Self.result.metaRMSE[model.key] == rmse, "\(model.key)")
    }
  }

  @Test func ensemblesCombineTestPredictions() throws {
    let predictions = Self.result.testPredictions
    let bias = try #require(predictions["bias"])
    let knn = try #require(predictions["item_knn"])
    let mf = try #require(predictions["mf"])
    let average = try #require(predictions["average"])
    let stacked = try #require(predictions["stacked"])
    #expect(average.count == Self.split.test.count)
    for sample in 0..<average.count {
      let base = [bias[sample], knn[sample], mf[sample]]
      #expect(isClose(average[sample], base.reduce(0, +) / 3), "sample \(sample)")
      #expect(stacked[sample] == Self.result.stacker.combine(base), "sample \(sample)")
    }
  }

  @Test func testAccuracyMatchesPredictions() throws {
    let truth = Self.dataset.ratings.subset(Self.split.test).values.map(Double.init)
    #expect(Self.result.testTruth == truth)
    for accuracy in Self.result.test {
      let predictions = try #require(Self.result.testPredictions[accuracy.key])
      let clipped = predictions.map { min(max($0, 0.5), 5) }
      #expect(isClose(accuracy.rmse, Metrics.rmse(predictions, truth)), "\(accuracy.key)")
      #expect(isClose(accuracy.mae, Metrics.mae(predictions, truth)), "\(accuracy.key)")
      #expect(isClose(accuracy.rmseClipped, Metrics.rmse(clipped, truth)), "\(accuracy.key)")
      #expect(isClose(accuracy.maeClipped, Metrics.mae(clipped, truth)), "\(accuracy.key)")
    }
  }

  @Test func recordsEveryMatrixFactorizationEpoch() {
    #expect(Self.result.mfEpochRMSE.count == 6)
  }
}
