import Testing

@testable import StackRec

/// A store that serves a feature-weighted blend of several models must
/// reproduce the evaluated ensemble's predictions.
@Suite struct FeatureWeightedStoreTests {
  @Test func servedScoresMatchEvaluatedBlend() throws {
    // Random ratings over 40 users and 30 items, split at random.
    let ratings = randomRatings(userCount: 40, itemCount: 30, density: 0.5, seed: 5)
    let dataset = makeDataset(ratings, userCount: 40, itemCount: 30)
    let split = Split.random(rowCount: ratings.count, seed: 5)
    var mf = MatrixFactorizationModel.Configuration()
    mf.factors = 4
    mf.epochs = 5
    let plan = ExperimentPlan(
      models: [.bias, .baseline(BaselineModel.Configuration()), .svd(mf), .itemKNN(.init())],
      stacking: .holdout, metaLearner: .featureWeighted, seed: 5, rankingK: 0)
    let result = Experiment.run(dataset: dataset, split: split, plan: plan, logger: silentLogger)
    let blend = try #require(result.blends["fwls"])
    #expect(!blend.isLinear)

    // Serve exactly the evaluated models: fit on base-train.
    let training = TrainingSet(dataset: dataset, rows: split.baseTrain)
    let content = FeatureStoreBuilder.content(
      dataset: dataset, training: training, models: result.models, blend: blend,
      serveFit: .base, logger: silentLogger)
    try withTemporaryDirectory { directory in
      let path = directory + "/store.sqlite"
      _ = try FeatureStoreWriter.write(content, to: path)
      let snapshot = try FeatureStoreReader.load(path: path)
      #expect(snapshot.modelKeys == ["bias", "baseline", "svd", "item_knn"])

      // Each stored model score is within 0.001, so the blend is within
      // 0.001 times the largest total absolute weight (plus float rounding).
      let evaluated = try #require(result.testPredictions["fwls"])
      var largestError = 0.0
      for (position, row) in split.test.enumerated() {
        let user = Int(dataset.ratings.users[row])
        let item = Int(dataset.ratings.items[row])
        let served = try snapshot.score(user: user, item: item).value
        let support = snapshot.support(user: user, item: item)
        let weights = blend.terms(userSupport: support.user, itemSupport: support.item).weights
        let bound = 0.001 * weights.reduce(0) { $0 + abs($1) } + 1e-4
        let expected = Double(BlendModel.clip(evaluated[position], to: dataset.ratingScale))
        largestError = max(largestError, abs(Double(served) - expected))
        #expect(abs(Double(served) - expected) <= bound, "user \(user), item \(item)")
      }
      #expect(largestError > 0)
    }
  }
}
