import Testing

@testable import StackRec

@Suite struct SVDPlusPlusModelTests {
  static let userCount = 12
  static let itemCount = 10
  static let training = TrainingSet(
    ratings: randomRatings(userCount: userCount, itemCount: itemCount, density: 0.5, seed: 31),
    userCount: userCount, itemCount: itemCount)

  static func configuration(factors: Int = 4, epochs: Int = 5) -> SVDPlusPlusModel.Configuration {
    var configuration = SVDPlusPlusModel.Configuration()
    configuration.factors = factors
    configuration.epochs = epochs
    return configuration
  }

  /// Returns every known pair's prediction, users in the outer loop.
  static func knownPredictions(_ model: SVDPlusPlusModel) -> [Double] {
    var values: [Double] = []
    for user in 0..<userCount - 1 {
      for item in 0..<itemCount - 1 {
        values.append(model.predict(user: Int32(user), item: Int32(item)).value)
      }
    }
    return values
  }

  // MARK: - Hand-computed steps

  @Test func zeroEpochsGiveInitialFactors() {
    // Before training the biases and y are 0, so r_hat = mu + dot(q_i, p_u)
    // with p and q the first Gaussian draws of the seeded generator: all
    // user factors, then all item factors.
    var configuration = Self.configuration(factors: 3, epochs: 0)
    configuration.seed = 7
    let model = SVDPlusPlusModel.fit(Self.training, configuration: configuration)
    var generator = SeededGenerator(seed: 7)
    let p = (0..<Self.userCount * 3).map { _ in generator.nextGaussian(standardDeviation: 0.1) }
    let q = (0..<Self.itemCount * 3).map { _ in generator.nextGaussian(standardDeviation: 0.1) }

    for (user, item) in [(0, 0), (2, 5), (10, 8)] {
      var expected = Self.training.globalMean
      for f in 0..<3 { expected += p[user * 3 + f] * q[item * 3 + f] }
      let prediction = model.predict(user: Int32(user), item: Int32(item))
      #expect(isClose(prediction.value, expected, tolerance: 1e-12), "user \(user), item \(item)")
      #expect(prediction.fallback == .none, "user \(user), item \(item)")
    }
  }

  @Test func oneEpochMatchesHandUpdate() {
    // One user rates one item 4, so mu = 4 and |N(u)| = 1. With y = 0 at
    // the start, z_u = 0 and e = 4 - (4 + dot(q, p)) = -dot(q, p). Then:
    //   b_u = b_i = lr_b * e
    //   p'  = p + lr (e q - reg p)
    //   q'  = q + lr (e p - reg q)
    //   y   = (1 - lr reg) * 0 + lr * 1 * e q        (the batched y step)
    //   r_hat = mu + b_u + b_i + dot(q', p' + y)
    let training = makeTrainingSet([(0, 0, 4)], userCount: 1, itemCount: 1)
    var configuration = Self.configuration(factors: 2, epochs: 1)
    configuration.learningRate = 0.1
    configuration.regularization = 0.05
    configuration.biasLearningRate = 0.2
    configuration.biasRegularization = 0.1
    configuration.initStandardDeviation = 0.5
    configuration.seed = 3
    let model = SVDPlusPlusModel.fit(training, configuration: configuration)

    var generator = SeededGenerator(seed: 3)
    let p = (0..<2).map { _ in generator.nextGaussian(standardDeviation: 0.5) }
    let q = (0..<2).map { _ in generator.nextGaussian(standardDeviation: 0.5) }
    let e = -(p[0] * q[0] + p[1] * q[1])
    let bias = 0.2 * e
    let pNew = (0..<2).map { p[$0] + 0.1 * (e * q[$0] - 0.05 * p[$0]) }
    let qNew = (0..<2).map { q[$0] + 0.1 * (e * p[$0] - 0.05 * q[$0]) }
    let y = (0..<2).map { 0.1 * e * q[$0] }
    let expected = 4 + 2 * bias + qNew[0] * (pNew[0] + y[0]) + qNew[1] * (pNew[1] + y[1])

    #expect(isClose(model.userBiases[0], bias, tolerance: 1e-12))
    #expect(isClose(model.itemBiases[0], bias, tolerance: 1e-12))
    #expect(isClose(model.predict(user: 0, item: 0).value, expected, tolerance: 1e-12))
  }

  @Test func implicitTermJoinsUserVector() {
    // The stored user vector is p' + |N(u)|^(-1/2) * y = p' + lr * e * q after
    // the epoch above (default reg = 0.02), so it differs from p' by y.
    let training = makeTrainingSet([(0, 0, 4)], userCount: 1, itemCount: 1)
    var configuration = Self.configuration(factors: 2, epochs: 1)
    configuration.learningRate = 0.1
    configuration.initStandardDeviation = 0.5
    let model = SVDPlusPlusModel.fit(training, configuration: configuration)

    var generator = SeededGenerator(seed: configuration.seed)
    let p = (0..<2).map { _ in generator.nextGaussian(standardDeviation: 0.5) }
    let q = (0..<2).map { _ in generator.nextGaussian(standardDeviation: 0.5) }
    let e = -(p[0] * q[0] + p[1] * q[1])
    let pNew = (0..<2).map { p[$0] + 0.1 * (e * q[$0] - 0.02 * p[$0]) }
    for f in 0..<2 {
      let y = 0.1 * e * q[f]
      #expect(isClose(model.userVectors[f], pNew[f] + y, tolerance: 1e-12), "factor \(f)")
      #expect(!isClose(model.userVectors[f], pNew[f], tolerance: 1e-6), "factor \(f)")
    }
  }

  // MARK: - Fallbacks

  @Test func unknownSidesKeepKnownBias() {
    let model = SVDPlusPlusModel.fit(Self.training, configuration: Self.configuration())
    let mu = Self.training.globalMean
    let lastUser = Int32(Self.userCount - 1)
    let lastItem = Int32(Self.itemCount - 1)

    #expect(model.predict(user: lastUser, item: 2) == Prediction(mu + model.itemBiases[2], fallback: .unknownUser))
    #expect(model.predict(user: 3, item: lastItem) == Prediction(mu + model.userBiases[3], fallback: .unknownItem))
    #expect(model.predict(user: -1, item: -1) == Prediction(mu, fallback: .unknownUserAndItem))
  }

  // MARK: - Seeds and hyperparameters

  @Test func sameSeedGivesSamePredictions() {
    let first = SVDPlusPlusModel.fit(Self.training, configuration: Self.configuration())
    let second = SVDPlusPlusModel.fit(Self.training, configuration: Self.configuration())

    #expect(Self.knownPredictions(first) == Self.knownPredictions(second))
  }

  enum Hyperparameter: String, CaseIterable, Sendable, CustomStringConvertible {
    case factors, epochs, learningRate, regularization, biasLearningRate, biasRegularization
    case initStandardDeviation, seed

    var description: String { rawValue }

    func change(_ configuration: inout SVDPlusPlusModel.Configuration) {
      switch self {
      case .factors: configuration.factors += 2
      case .epochs: configuration.epochs += 3
      case .learningRate: configuration.learningRate *= 3
      case .regularization: configuration.regularization *= 10
      case .biasLearningRate: configuration.biasLearningRate *= 3
      case .biasRegularization: configuration.biasRegularization *= 100
      case .initStandardDeviation: configuration.initStandardDeviation *= 3
      case .seed: configuration.seed += 1
      }
    }
  }

  @Test(arguments: Hyperparameter.allCases)
  func hyperparameterChangesPredictions(parameter: Hyperparameter) {
    var changed = Self.configuration()
    parameter.change(&changed)
    let base = SVDPlusPlusModel.fit(Self.training, configuration: Self.configuration())
    let other = SVDPlusPlusModel.fit(Self.training, configuration: changed)

    #expect(Self.knownPredictions(base) != Self.knownPredictions(other))
  }
}
