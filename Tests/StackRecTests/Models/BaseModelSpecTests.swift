import Testing

@testable import StackRec

/// The contract every base model that `BaseModelSpec` fits keeps: known
/// pairs are predicted from learned terms, unknown users and items get a
/// finite fallback with the right flag, and the batch and matrix scoring
/// paths agree with single predictions.
@Suite struct BaseModelSpecTests {
  static let userCount = 12
  static let itemCount = 10

  /// Random ratings, the last user and item without any, spread over 60
  /// days so that the time model has several days and bins.
  static let dataset: Dataset = {
    var ratings = randomRatings(userCount: userCount, itemCount: itemCount, density: 0.5, seed: 88)
    ratings.timestamps = ratings.timestamps.indices.map { Int64($0 % 60) * 86_400 + 600 }
    let genres = (0..<itemCount).map { ["Comedy", "Drama", "Action|Comedy", "Drama|Romance"][$0 % 4] }
    let titles = (0..<itemCount).map { "Movie \($0) (\(1950 + 7 * $0))" }
    return makeDataset(
      ratings, userCount: userCount, itemCount: itemCount, titles: titles, genres: genres,
      hasTimestamps: true)
  }()
  static let training = TrainingSet(
    ratings: dataset.ratings, userCount: userCount, itemCount: itemCount)

  /// Returns the model for `key` with a small configuration.
  static func spec(for key: String) -> BaseModelSpec? {
    var mf = MatrixFactorizationModel.Configuration()
    mf.factors = 4
    mf.epochs = 5
    var svdPlusPlus = SVDPlusPlusModel.Configuration()
    svdPlusPlus.factors = 4
    svdPlusPlus.epochs = 5
    var timeSVD = TimeSVDModel.Configuration()
    timeSVD.factors = 4
    timeSVD.epochs = 5
    timeSVD.timeBins = 6
    switch key {
    case "bias": return .bias
    case "item_knn": return .itemKNN(.init(neighbors: 5))
    case "mf": return .matrixFactorization(mf)
    case "baseline": return .baseline(BaselineModel.Configuration())
    case "knn_baseline": return .knnBaseline(KNNBaselineModel.Configuration())
    case "svd": return .svd(mf)
    case "svdpp": return .svdPlusPlus(svdPlusPlus)
    case "timesvd": return .timeSVD(timeSVD)
    case "content": return .content(ContentModel.Configuration())
    default: return nil
    }
  }

  /// Every model, fitted once.
  static let models: [String: any RatingModel] = {
    let context = FitContext(dataset: dataset, logger: silentLogger)
    var models: [String: any RatingModel] = [:]
    for key in Preset.modelKeys {
      if let spec = spec(for: key) { models[key] = spec.fit(training, context: context) }
    }
    return models
  }()

  /// The scoring paths may add a model's terms in another order in `Float`,
  /// so scores may differ by a few units in the last place. Item kNN, for
  /// one, sums neighbours in rank order for whole rows and in index order
  /// for one pair.
  static let floatTolerance: Float = 1e-5

  static let unknownUsers: [Int32] = [Int32(userCount - 1), -1, 1000]
  static let unknownItems: [Int32] = [Int32(itemCount - 1), -1, 1000]

  @Test func everyModelKeyHasSpec() {
    for key in Preset.modelKeys {
      #expect(Self.spec(for: key)?.key == key, "\(key)")
    }
  }

  @Test(arguments: Preset.modelKeys)
  func fittedModelHasSpecKey(key: String) throws {
    let model = try #require(Self.models[key])

    #expect(model.key == key)
    #expect(model.userCount == Self.userCount)
    #expect(model.itemCount == Self.itemCount)
  }

  @Test(arguments: Preset.modelKeys)
  func knownPairsHaveNoFallback(key: String) throws {
    // Every pair of a user and an item that both have training ratings,
    // rated by that user or not.
    let model = try #require(Self.models[key])
    for user in Int32(0)..<Int32(Self.userCount - 1) {
      for item in Int32(0)..<Int32(Self.itemCount - 1) {
        let prediction = model.predict(user: user, item: item)
        #expect(prediction.fallback == .none, "user \(user), item \(item)")
        #expect(prediction.value.isFinite, "user \(user), item \(item)")
      }
    }
  }

  @Test(arguments: Preset.modelKeys)
  func unknownUserFallsBack(key: String) throws {
    let model = try #require(Self.models[key])
    for user in Self.unknownUsers {
      for item in Int32(0)..<3 {
        let prediction = model.predict(user: user, item: item)
        #expect(prediction.fallback == .unknownUser, "user \(user), item \(item)")
        #expect(prediction.value.isFinite, "user \(user), item \(item)")
      }
    }
  }

  @Test(arguments: Preset.modelKeys)
  func unknownItemFallsBack(key: String) throws {
    let model = try #require(Self.models[key])
    for item in Self.unknownItems {
      for user in Int32(0)..<3 {
        let prediction = model.predict(user: user, item: item)
        #expect(prediction.fallback == .unknownItem, "user \(user), item \(item)")
        #expect(prediction.value.isFinite, "user \(user), item \(item)")
      }
    }
  }

  @Test(arguments: Preset.modelKeys)
  func unknownUserAndItemFallBack(key: String) throws {
    let model = try #require(Self.models[key])
    for user in Self.unknownUsers {
      for item in Self.unknownItems {
        let prediction = model.predict(user: user, item: item)
        #expect(prediction.fallback == .unknownUserAndItem, "user \(user), item \(item)")
        #expect(prediction.value.isFinite, "user \(user), item \(item)")
      }
    }
  }

  @Test(arguments: Preset.modelKeys)
  func indicesOutsideGiveGlobalMean(key: String) throws {
    // Neither index names a user or an item, so no learned term applies.
    let model = try #require(Self.models[key])

    #expect(isClose(model.predict(user: -1, item: -1).value, Self.training.globalMean))
    #expect(isClose(model.predict(user: 1000, item: 1000).value, Self.training.globalMean))
  }

  @Test(arguments: Preset.modelKeys)
  func batchPredictMatchesSinglePredict(key: String) throws {
    let model = try #require(Self.models[key])
    let pairs = allPairs(userCount: Self.userCount, itemCount: Self.itemCount)
    let batch = model.predict(users: pairs.users, items: pairs.items)

    #expect(batch.count == pairs.users.count)
    for (position, (user, item)) in zip(pairs.users, pairs.items).enumerated() {
      let single = model.predict(user: user, item: item).value
      #expect(isClose(batch[position], single, tolerance: 1e-5), "user \(user), item \(item)")
    }
  }

  @Test(arguments: Preset.modelKeys)
  func scoreMatrixMatchesPredict(key: String) throws {
    let model = try #require(Self.models[key])
    var scores = [Float](repeating: .nan, count: Self.userCount * Self.itemCount)
    scores.withUnsafeMutableBufferPointer { model.scoreMatrix(into: $0) }

    for user in 0..<Self.userCount {
      for item in 0..<Self.itemCount {
        let expected = Float(model.predict(user: Int32(user), item: Int32(item)).value)
        let score = scores[user * Self.itemCount + item]
        #expect(abs(score - expected) <= Self.floatTolerance, "user \(user), item \(item)")
      }
    }
  }

  @Test(arguments: Preset.modelKeys)
  func scoreAllSliceMatchesPredict(key: String) throws {
    // Users 3 to the last: a slice that starts past the first row and ends
    // on the unknown user.
    let model = try #require(Self.models[key])
    let users = 3..<Self.userCount
    var scores = [Float](repeating: .nan, count: users.count * Self.itemCount)
    scores.withUnsafeMutableBufferPointer { model.scoreAll(users: users, into: $0) }

    for (row, user) in users.enumerated() {
      for item in 0..<Self.itemCount {
        let expected = Float(model.predict(user: Int32(user), item: Int32(item)).value)
        let score = scores[row * Self.itemCount + item]
        #expect(abs(score - expected) <= Self.floatTolerance, "user \(user), item \(item)")
      }
    }
  }

  @Test func contentSpecUsesDatasetFeatures() throws {
    let model = try #require(Self.models["content"])
    let direct = ContentModel.fit(
      Self.training, features: ItemFeatures.build(dataset: Self.dataset, maxTags: 30))

    for user in Int32(0)..<Int32(Self.userCount) {
      for item in Int32(0)..<Int32(Self.itemCount) {
        let expected = direct.predict(user: user, item: item).value
        #expect(model.predict(user: user, item: item).value == expected, "user \(user), item \(item)")
      }
    }
  }

  @Test func contentFitWithoutFeaturesStillWorks() {
    // Data without movie or tag files gives the content model no features.
    let spec = BaseModelSpec.content(ContentModel.Configuration())
    let model = spec.fit(Self.training, context: FitContext(logger: silentLogger))

    #expect(spec.needsItemFeatures)
    #expect(model.predict(user: 0, item: 0).value.isFinite)
    #expect(model.predict(user: 0, item: 0).fallback == .none)
  }
}
