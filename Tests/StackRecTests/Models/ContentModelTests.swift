import Testing

@testable import StackRec

@Suite struct ContentModelTests {
  /// Builds the features of items with one genre each and no title year or
  /// tags, so each item has one feature of value 1.
  static func genreFeatures(_ genres: [String]) -> ItemFeatures {
    let dataset = makeDataset(Ratings(), userCount: 0, itemCount: genres.count, genres: genres)
    return ItemFeatures.build(dataset: dataset)
  }

  // MARK: - Personal taste

  // Items 0-3 are comedies and 4-7 dramas. User 0 rates comedies 0-2 5 and
  // dramas 4-6 1, user 1 the opposite, and user 2 rates comedy 3 and drama
  // 7 both 3, so neither user 0 nor user 1 has seen items 3 and 7.
  static let tasteGenres = [String](repeating: "Comedy", count: 4)
    + [String](repeating: "Drama", count: 4)
  static let tasteTraining: TrainingSet = {
    var triples: [(Int32, Int32, Float)] = [(2, 3, 3), (2, 7, 3)]
    for item in Int32(0)..<3 {
      triples += [(0, item, 5), (0, item + 4, 1), (1, item, 1), (1, item + 4, 5)]
    }
    return makeTrainingSet(triples, userCount: 3, itemCount: 8)
  }()

  @Test func comedyFanPrefersUnseenComedy() {
    let model = ContentModel.fit(Self.tasteTraining, features: Self.genreFeatures(Self.tasteGenres))
    let comedy = model.predict(user: 0, item: 3)
    let drama = model.predict(user: 0, item: 7)

    #expect(comedy.value > drama.value)
    #expect(comedy.fallback == .none)
    #expect(drama.fallback == .none)
  }

  @Test func dramaFanPrefersUnseenDrama() {
    let model = ContentModel.fit(Self.tasteTraining, features: Self.genreFeatures(Self.tasteGenres))

    #expect(model.predict(user: 1, item: 7).value > model.predict(user: 1, item: 3).value)
  }

  @Test func userWeightsSolveRidgeRegression() throws {
    // With one feature of value 1 per item, the ridge system is diagonal:
    //   w_{u,g} = sum_{i in R(u), genre g} (r_ui - mu - b_u - b_i) / (lambda_w + n_{u,g})
    // using the biases of the same final pass, and lambda_w = 5.
    let features = Self.genreFeatures(Self.tasteGenres)
    let model = ContentModel.fit(Self.tasteTraining, features: features)
    let comedy = try #require(features.names.firstIndex(of: "genre:Comedy"))
    let training = Self.tasteTraining
    let mu = training.globalMean

    for user in 0..<3 {
      var sums = [0.0, 0.0]
      var counts = [0.0, 0.0]
      for entry in training.byUser.range(ofRow: user) {
        let item = Int(training.byUser.columns[entry])
        let genre = item < 4 ? comedy : 1 - comedy
        sums[genre] += Double(training.byUser.values[entry]) - mu - model.userBiases[user]
          - model.itemBiases[item]
        counts[genre] += 1
      }
      for genre in 0..<2 {
        let expected = sums[genre] / (5 + counts[genre])
        #expect(
          isClose(model.userWeights[user * 2 + genre], expected, tolerance: 1e-9),
          "user \(user), feature \(features.names[genre])")
      }
    }
  }

  // MARK: - Content prior

  // Users 0-2 rate comedies 0-2 5 and dramas 3-5 2; comedy 6 and drama 7
  // have no ratings.
  static let priorGenres = ["Comedy", "Comedy", "Comedy", "Drama", "Drama", "Drama", "Comedy", "Drama"]
  static let priorTraining: TrainingSet = {
    var triples: [(Int32, Int32, Float)] = []
    for user in Int32(0)..<3 {
      triples += [(user, 0, 5), (user, 1, 5), (user, 2, 5), (user, 3, 2), (user, 4, 2), (user, 5, 2)]
    }
    return makeTrainingSet(triples, userCount: 3, itemCount: 8)
  }()

  /// `dot(theta, x_i)` for an item of `genre`, computed from its closed form:
  /// with one feature of value 1 per item the prior's ridge system is
  /// diagonal, so theta_g = sum_{i in g} w_i b_i / (lambda + sum_{i in g} w_i),
  /// with w_i = n_i / (n_i + 10) and b_i the plain baseline item biases.
  static func expectedPrior(genre: String, priorRegularization: Double) -> Double {
    let baseline = BaselineModel.fit(priorTraining)
    var weighted = 0.0
    var weightSum = 0.0
    for item in 0..<8 where priorGenres[item] == genre {
      let count = Double(priorTraining.byItem.count(ofRow: item))
      guard count > 0 else { continue }
      let weight = count / (count + 10)
      weighted += weight * baseline.itemBiases[item]
      weightSum += weight
    }
    return weighted / (priorRegularization + weightSum)
  }

  @Test func unratedItemGetsContentPrior() {
    // theta_comedy = 3 * (3/13) * b / (1 + 3 * 3/13) with b the comedies'
    // baseline bias, positive because every comedy is rated above mu = 3.5.
    let model = ContentModel.fit(Self.priorTraining, features: Self.genreFeatures(Self.priorGenres))
    let comedyPrior = Self.expectedPrior(genre: "Comedy", priorRegularization: 1)
    let dramaPrior = Self.expectedPrior(genre: "Drama", priorRegularization: 1)
    let mu = Self.priorTraining.globalMean

    #expect(comedyPrior > 0.1)
    #expect(isClose(model.itemBiases[6], comedyPrior, tolerance: 1e-9))
    #expect(isClose(model.itemBiases[7], dramaPrior, tolerance: 1e-9))
    #expect(model.predict(user: -1, item: 6) == Prediction(mu + model.itemBiases[6], fallback: .unknownUserAndItem))
  }

  @Test func unratedItemScoreIsNotUserBias() {
    // A known user's score for an unrated item adds the prior and the
    // user's genre weight to mu + b_u, so the unrated comedy beats the
    // unrated drama.
    let model = ContentModel.fit(Self.priorTraining, features: Self.genreFeatures(Self.priorGenres))
    let comedy = model.predict(user: 0, item: 6)
    let drama = model.predict(user: 0, item: 7)
    let userOnly = Self.priorTraining.globalMean + model.userBiases[0]

    #expect(comedy.fallback == .unknownItem)
    #expect(!isClose(comedy.value, userOnly, tolerance: 1e-3))
    #expect(comedy.value > drama.value)
  }

  @Test func priorPenaltyShrinksPrior() {
    var configuration = ContentModel.Configuration()
    configuration.priorRegularization = 10
    let features = Self.genreFeatures(Self.priorGenres)
    let model = ContentModel.fit(Self.priorTraining, features: features, configuration: configuration)
    let expected = Self.expectedPrior(genre: "Comedy", priorRegularization: 10)

    #expect(isClose(model.itemBiases[6], expected, tolerance: 1e-9))
    #expect(expected < Self.expectedPrior(genre: "Comedy", priorRegularization: 1))
  }

  // MARK: - Without features

  @Test func noFeaturesGiveBaselineBiases() {
    // With no features the prior and weights are 0, so the fit is the
    // baseline's 10 passes followed by the content model's 3 bias passes.
    let training = TrainingSet(
      ratings: randomRatings(userCount: 10, itemCount: 8, density: 0.5, seed: 9),
      userCount: 10, itemCount: 8)
    let model = ContentModel.fit(training, features: .empty(itemCount: 8))
    var configuration = BaselineModel.Configuration()
    configuration.passes = 13
    let baseline = BaselineModel.fit(training, configuration: configuration)

    for user in -1..<10 {
      for item in -1..<8 {
        let value = model.predict(user: Int32(user), item: Int32(item))
        let expected = baseline.predict(user: Int32(user), item: Int32(item))
        #expect(isClose(value.value, expected.value, tolerance: 1e-12), "user \(user), item \(item)")
        #expect(value.fallback == expected.fallback, "user \(user), item \(item)")
      }
    }
  }
}
