import Testing

@testable import StackRec

@Suite struct MatrixFactorizationModelTests {
  typealias Configuration = MatrixFactorizationModel.Configuration

  static let userCount = 20
  static let itemCount = 15
  static let training = TrainingSet(
    ratings: randomRatings(userCount: userCount, itemCount: itemCount, density: 0.5, seed: 31),
    userCount: userCount, itemCount: itemCount)

  static func configuration(
    factors: Int = 4, epochs: Int = 10, learningRate: Double = 0.02, seed: UInt64 = 42
  ) -> Configuration {
    var configuration = Configuration()
    configuration.factors = factors
    configuration.epochs = epochs
    configuration.learningRate = learningRate
    configuration.seed = seed
    return configuration
  }

  /// Returns every prediction of `model` over the index space, unknown pairs included.
  static func predictions(_ model: MatrixFactorizationModel) -> [Double] {
    let pairs = allPairs(userCount: userCount, itemCount: itemCount)
    return model.predict(users: pairs.users, items: pairs.items)
  }

  @Test func zeroEpochsKeepInitialValues() {
    var configuration = Self.configuration(factors: 30, epochs: 0)
    configuration.initStandardDeviation = 0.3
    let model = MatrixFactorizationModel.fit(Self.training, configuration: configuration)

    #expect(model.epochRMSE.isEmpty)
    #expect(model.userBiases.allSatisfy { $0 == 0 })
    #expect(model.itemBiases.allSatisfy { $0 == 0 })
    #expect(model.userFactors.count == Self.userCount * 30)
    #expect(model.itemFactors.count == Self.itemCount * 30)

    // 1,050 draws from N(0, 0.3^2): the sample deviation has a standard
    // error of about 0.3 / sqrt(2 * 1050) = 0.0065.
    let factors = model.userFactors + model.itemFactors
    let mean = factors.reduce(0, +) / Double(factors.count)
    let variance = factors.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(factors.count)
    #expect(abs(mean) < 0.05)
    #expect(abs(variance.squareRoot() - 0.3) < 0.04)
  }

  @Test func oneStepMatchesHandUpdate() throws {
    // One rating r = 4 by user 0 for item 0, one factor and one epoch, so
    // mu = 4 and, from the initial factors p0 and q0 and zero biases,
    //   e   = r - (mu + 0 + 0 + p0 * q0) = -p0 * q0
    //   b_u = 0 + lr * (e - reg * 0),   b_i likewise
    //   p_u = p0 + lr * (e * q0 - reg * p0)
    //   q_i = q0 + lr * (e * p0 - reg * q0)
    let training = makeTrainingSet([(0, 0, 4)], userCount: 1, itemCount: 1)
    var configuration = Self.configuration(factors: 1, epochs: 0, learningRate: 0.1, seed: 7)
    configuration.regularization = 0.05
    configuration.initStandardDeviation = 1
    let initial = MatrixFactorizationModel.fit(training, configuration: configuration)
    configuration.epochs = 1
    let trained = MatrixFactorizationModel.fit(training, configuration: configuration)

    let p0 = try #require(initial.userFactors.first)
    let q0 = try #require(initial.itemFactors.first)
    try #require(p0 != 0)
    try #require(q0 != 0)
    let (lr, reg) = (0.1, 0.05)
    let error = 4 - (4 + p0 * q0)
    let bu = lr * error
    let bi = lr * error
    let pu = p0 + lr * (error * q0 - reg * p0)
    let qi = q0 + lr * (error * p0 - reg * q0)

    #expect(trained.globalMean == 4)
    #expect(isClose(trained.userBiases[0], bu, tolerance: 1e-12))
    #expect(isClose(trained.itemBiases[0], bi, tolerance: 1e-12))
    #expect(isClose(trained.userFactors[0], pu, tolerance: 1e-12))
    #expect(isClose(trained.itemFactors[0], qi, tolerance: 1e-12))
    #expect(trained.epochRMSE.count == 1)
    #expect(isClose(trained.epochRMSE[0], abs(error), tolerance: 1e-12))
    let prediction = trained.predict(user: 0, item: 0).value
    #expect(isClose(prediction, 4 + bu + bi + pu * qi, tolerance: 1e-12))
  }

  @Test func trainingRMSEDecreasesEachEpoch() {
    let model = MatrixFactorizationModel.fit(
      Self.training, configuration: Self.configuration(epochs: 15))
    #expect(model.epochRMSE.count == 15)
    for epoch in 1..<model.epochRMSE.count {
      #expect(model.epochRMSE[epoch] < model.epochRMSE[epoch - 1], "epoch \(epoch + 1)")
    }
  }

  @Test func epochCallbackSeesEveryEpoch() {
    var reported: [(Int, Double)] = []
    let model = MatrixFactorizationModel.fit(
      Self.training, configuration: Self.configuration(epochs: 4)
    ) { epoch, rmse in
      reported.append((epoch, rmse))
    }
    #expect(reported.map(\.0) == [1, 2, 3, 4])
    #expect(reported.map(\.1) == model.epochRMSE)
  }

  @Test func sameSeedGivesIdenticalModels() {
    let first = MatrixFactorizationModel.fit(Self.training, configuration: Self.configuration())
    let second = MatrixFactorizationModel.fit(Self.training, configuration: Self.configuration())
    #expect(first.userFactors == second.userFactors)
    #expect(first.itemFactors == second.itemFactors)
    #expect(first.userBiases == second.userBiases)
    #expect(first.itemBiases == second.itemBiases)
    #expect(first.epochRMSE == second.epochRMSE)
  }

  @Test func otherSeedGivesDifferentModel() {
    let first = MatrixFactorizationModel.fit(
      Self.training, configuration: Self.configuration(seed: 42))
    let second = MatrixFactorizationModel.fit(
      Self.training, configuration: Self.configuration(seed: 43))
    #expect(first.userFactors != second.userFactors)
    #expect(first.itemFactors != second.itemFactors)
    #expect(Self.predictions(first) != Self.predictions(second))
  }

  /// One change to the default test configuration, named for the report.
  struct Change: Sendable, CustomStringConvertible {
    var description: String
    var apply: @Sendable (inout Configuration) -> Void
  }

  @Test(arguments: [
    Change(description: "factors 4 to 8") { $0.factors = 8 },
    Change(description: "epochs 10 to 11") { $0.epochs = 11 },
    Change(description: "learning rate 0.02 to 0.03") { $0.learningRate = 0.03 },
    Change(description: "regularization 0.05 to 0.5") { $0.regularization = 0.5 },
    Change(description: "init std 0.1 to 0.2") { $0.initStandardDeviation = 0.2 },
  ])
  func hyperparameterChangesPredictions(change: Change) throws {
    let baseline = Self.configuration()
    var changed = baseline
    change.apply(&changed)
    try #require(changed != baseline)

    let before = MatrixFactorizationModel.fit(Self.training, configuration: baseline)
    let after = MatrixFactorizationModel.fit(Self.training, configuration: changed)
    #expect(Self.predictions(before) != Self.predictions(after))
  }

  @Test func scoreMatrixMatchesPredict() {
    let model = MatrixFactorizationModel.fit(Self.training, configuration: Self.configuration())
    var scores = [Float](repeating: .nan, count: Self.userCount * Self.itemCount)
    scores.withUnsafeMutableBufferPointer { model.scoreMatrix(into: $0) }

    for user in 0..<Self.userCount {
      for item in 0..<Self.itemCount {
        let expected = Float(model.predict(user: Int32(user), item: Int32(item)).value)
        let score = scores[user * Self.itemCount + item]
        #expect(score == expected, "user \(user), item \(item)")
      }
    }
  }

  @Test func unknownPairsGetGlobalMean() {
    let model = MatrixFactorizationModel.fit(Self.training, configuration: Self.configuration())
    let mu = Self.training.globalMean
    let lastUser = Int32(Self.userCount - 1)
    let lastItem = Int32(Self.itemCount - 1)
    #expect(model.predict(user: lastUser, item: 0) == Prediction(mu, fallback: .unknownUser))
    #expect(model.predict(user: 0, item: lastItem) == Prediction(mu, fallback: .unknownItem))
    #expect(
      model.predict(user: -1, item: lastItem) == Prediction(mu, fallback: .unknownUserAndItem))
  }
}
