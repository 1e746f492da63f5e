import Glibc
import Testing

@testable import StackRec

@Suite struct MetaLearnerTests {
  /// Returns `count` samples of `modelCount` predictions drawn uniformly
  /// from 1 to 5.
  static func randomPredictions(modelCount: Int, count: Int, seed: UInt64) -> [[Double]] {
    var generator = SeededGenerator(seed: seed)
    return (0..<modelCount).map { _ in (0..<count).map { _ in 1 + 4 * generator.nextUnit() } }
  }

  /// Returns `intercept + dot(weights, x_n)` plus Gaussian noise of standard
  /// deviation `noise` for each sample `n`.
  static func targets(
    _ predictions: [[Double]], intercept: Double, weights: [Double], noise: Double = 0,
    seed: UInt64 = 99
  ) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    return (0..<predictions[0].count).map { sample in
      var value = intercept
      for (column, weight) in zip(predictions, weights) { value += weight * column[sample] }
      return value + generator.nextGaussian(standardDeviation: noise)
    }
  }

  static func fit(
    _ learner: MetaLearner, _ predictions: [[Double]], _ targets: [Double],
    userSupport: [Int32]? = nil, itemSupport: [Int32]? = nil
  ) -> BlendModel {
    let zeros = [Int32](repeating: 0, count: targets.count)
    return learner.fit(
      predictions: predictions, targets: targets, userSupport: userSupport ?? zeros,
      itemSupport: itemSupport ?? zeros)
  }

  @Test func keysRoundTrip() {
    for learner in MetaLearner.all {
      #expect(MetaLearner(key: learner.key) == learner, "\(learner.key)")
    }
    #expect(MetaLearner(key: "lasso") == nil)
  }

  // MARK: - Least squares

  @Test func leastSquaresRecoversWeights() {
    let predictions = Self.randomPredictions(modelCount: 3, count: 80, seed: 1)
    let targets = Self.targets(predictions, intercept: 0.4, weights: [0.5, 0.3, -0.2])
    let blend = Self.fit(.leastSquares, predictions, targets)

    #expect(blend.isLinear)
    #expect(isClose(blend.intercept, 0.4, tolerance: 1e-9))
    #expect(isClose(blend.weights[0], 0.5, tolerance: 1e-9))
    #expect(isClose(blend.weights[1], 0.3, tolerance: 1e-9))
    #expect(isClose(blend.weights[2], -0.2, tolerance: 1e-9))
  }

  // MARK: - Ridge

  @Test func ridgeChoosesNoPenaltyWithoutNoise() {
    // Without noise every positive penalty biases the weights and raises
    // the held-out error above the exact fit's.
    let predictions = Self.randomPredictions(modelCount: 3, count: 200, seed: 2)
    let targets = Self.targets(predictions, intercept: 0.4, weights: [0.5, 0.3, 0.2])
    let penalty = MetaLearner.choosePenalty(features: predictions, targets: targets, seed: 42)
    let blend = Self.fit(.ridge, predictions, targets)

    #expect(penalty == 0)
    #expect(isClose(blend.intercept, 0.4, tolerance: 1e-9))
    #expect(isClose(blend.weights[0], 0.5, tolerance: 1e-9))
    #expect(isClose(blend.weights[1], 0.3, tolerance: 1e-9))
    #expect(isClose(blend.weights[2], 0.2, tolerance: 1e-9))
  }

  /// Returns the ridge fit of one feature in closed form:
  /// `w = S_xy / (S_xx + lambda)` on centred sums and `b = mean(y) - w mean(x)`.
  static func ridgeLine(_ x: [Double], _ y: [Double], penalty: Double) -> (intercept: Double, weight: Double) {
    let meanX = x.reduce(0, +) / Double(x.count)
    let meanY = y.reduce(0, +) / Double(y.count)
    var sxx = 0.0
    var sxy = 0.0
    for (a, b) in zip(x, y) {
      sxx += (a - meanX) * (a - meanX)
      sxy += (a - meanX) * (b - meanY)
    }
    let weight = sxy / (sxx + penalty)
    return (meanY - weight * meanX, weight)
  }

  @Test func ridgePenaltyMinimisesHeldOutError() throws {
    // A weak signal in heavy noise on 60 samples, where shrinking the
    // weight pays. The cross-validation is redone here. The rows are
    // shuffled with the seeded generator and dealt to 5 folds in turn. Each
    // candidate c, a fraction of the sample count n, is fitted on the 4/5 of
    // the rows outside a fold with penalty c * n * 4/5.
    let predictions = Self.randomPredictions(modelCount: 1, count: 60, seed: 3)
    let targets = Self.targets(predictions, intercept: 3, weights: [0.05], noise: 1, seed: 4)
    let x = predictions[0]
    let n = Double(targets.count)
    var generator = SeededGenerator(seed: 42)
    var order = Array(0..<targets.count)
    generator.shuffle(&order)
    var fold = [Int](repeating: 0, count: targets.count)
    for (position, row) in order.enumerated() { fold[row] = position % 5 }

    var bestCandidate = 0.0
    var bestError = Double.infinity
    for candidate in MetaLearner.penalties {
      var squaredError = 0.0
      for held in 0..<5 {
        let kept = targets.indices.filter { fold[$0] != held }
        let line = Self.ridgeLine(kept.map { x[$0] }, kept.map { targets[$0] }, penalty: candidate * n * 0.8)
        for row in targets.indices where fold[row] == held {
          let error = targets[row] - line.intercept - line.weight * x[row]
          squaredError += error * error
        }
      }
      if squaredError < bestError {
        bestError = squaredError
        bestCandidate = candidate
      }
    }
    try #require(bestCandidate > 0)

    let penalty = MetaLearner.choosePenalty(features: predictions, targets: targets, seed: 42)
    let blend = Self.fit(.ridge, predictions, targets)
    let line = Self.ridgeLine(x, targets, penalty: bestCandidate * n)
    #expect(isClose(penalty, bestCandidate * n, tolerance: 1e-12))
    #expect(isClose(blend.weights[0], line.weight, tolerance: 1e-9))
    #expect(isClose(blend.intercept, line.intercept, tolerance: 1e-9))
  }

  // MARK: - Non-negative

  @Test func nonNegativeWeightsStayNonNegative() {
    let predictions = Self.randomPredictions(modelCount: 4, count: 150, seed: 5)
    let targets = Self.targets(
      predictions, intercept: 1, weights: [0.7, -0.5, 0.4, -0.1], noise: 0.3, seed: 6)
    let blend = Self.fit(.nonNegative, predictions, targets)

    for (model, weight) in blend.weights.enumerated() {
      #expect(weight >= 0, "model \(model)")
    }
  }

  @Test func nonNegativeMatchesLeastSquaresWhenPositive() throws {
    let predictions = Self.randomPredictions(modelCount: 3, count: 120, seed: 7)
    let targets = Self.targets(
      predictions, intercept: 0.2, weights: [0.5, 0.3, 0.2], noise: 0.2, seed: 8)
    let plain = Self.fit(.leastSquares, predictions, targets)
    try #require(plain.weights.allSatisfy { $0 > 0.05 })
    let blend = Self.fit(.nonNegative, predictions, targets)

    #expect(isClose(blend.intercept, plain.intercept, tolerance: 1e-7))
    for model in 0..<3 {
      #expect(isClose(blend.weights[model], plain.weights[model], tolerance: 1e-7), "model \(model)")
    }
  }

  @Test func negativeWeightDropsItsColumn() throws {
    // Model 1's true weight is -0.4. The constrained optimum sets it to 0
    // and fits the other two columns by plain least squares, solved here by
    // Cramer's rule on the centred normal equations. It is the optimum
    // because the gradient along model 1 points away from positive weights:
    // the residual correlates negatively with model 1.
    let predictions = Self.randomPredictions(modelCount: 3, count: 200, seed: 9)
    let targets = Self.targets(
      predictions, intercept: 1, weights: [0.6, -0.4, 0.5], noise: 0.1, seed: 10)
    let blend = Self.fit(.nonNegative, predictions, targets)

    let n = Double(targets.count)
    let means = predictions.map { $0.reduce(0, +) / n }
    let meanY = targets.reduce(0, +) / n
    func centredSum(_ a: [Double], _ meanA: Double, _ b: [Double], _ meanB: Double) -> Double {
      zip(a, b).reduce(0) { $0 + ($1.0 - meanA) * ($1.1 - meanB) }
    }
    let (x0, x2) = (predictions[0], predictions[2])
    let s00 = centredSum(x0, means[0], x0, means[0])
    let s22 = centredSum(x2, means[2], x2, means[2])
    let s02 = centredSum(x0, means[0], x2, means[2])
    let s0y = centredSum(x0, means[0], targets, meanY)
    let s2y = centredSum(x2, means[2], targets, meanY)
    let determinant = s00 * s22 - s02 * s02
    let w0 = (s0y * s22 - s02 * s2y) / determinant
    let w2 = (s00 * s2y - s02 * s0y) / determinant
    let intercept = meanY - w0 * means[0] - w2 * means[2]
    let residuals = targets.indices.map {
      targets[$0] - intercept - w0 * x0[$0] - w2 * x2[$0]
    }
    try #require(w0 > 0 && w2 > 0)
    try #require(centredSum(predictions[1], means[1], residuals, 0) < 0)

    #expect(blend.weights[1] == 0)
    #expect(isClose(blend.weights[0], w0, tolerance: 1e-7))
    #expect(isClose(blend.weights[2], w2, tolerance: 1e-7))
    #expect(isClose(blend.intercept, intercept, tolerance: 1e-6))
  }

  // MARK: - Feature-weighted linear stacking

  /// Samples whose true blend gives model A a weight that grows with the
  /// log item support and adds an intercept that grows with the log user
  /// support:
  ///
  ///   y = 0.2 + 0.1 log(1 + n_u) + (0.1 + 0.08 log(1 + n_i)) a + 0.5 b + noise
  struct SupportSamples {
    var predictions: [[Double]]
    var userSupport: [Int32]
    var itemSupport: [Int32]
    var targets: [Double]

    static func trueTerms(userSupport: Int32, itemSupport: Int32) -> (intercept: Double, weights: [Double]) {
      (0.2 + 0.1 * log1p(Double(userSupport)), [0.1 + 0.08 * log1p(Double(itemSupport)), 0.5])
    }

    init(count: Int, noise: Double, seed: UInt64) {
      var generator = SeededGenerator(seed: seed)
      predictions = [[], []]
      userSupport = []
      itemSupport = []
      targets = []
      for _ in 0..<count {
        let a = 1 + 4 * generator.nextUnit()
        let b = 1 + 4 * generator.nextUnit()
        let users = Int32(1 + generator.nextInt(below: 300))
        let items = Int32(1 + generator.nextInt(below: 3000))
        let terms = Self.trueTerms(userSupport: users, itemSupport: items)
        predictions[0].append(a)
        predictions[1].append(b)
        userSupport.append(users)
        itemSupport.append(items)
        targets.append(
          terms.intercept + terms.weights[0] * a + terms.weights[1] * b
            + generator.nextGaussian(standardDeviation: noise))
      }
    }
  }

  @Test func featureWeightedRecoversSupportTerms() {
    let samples = SupportSamples(count: 400, noise: 0, seed: 11)
    let blend = MetaLearner.featureWeighted.fit(
      predictions: samples.predictions, targets: samples.targets,
      userSupport: samples.userSupport, itemSupport: samples.itemSupport)

    for (users, items) in [(Int32(1), Int32(1)), (20, 3000), (300, 50), (0, 0), (5_000, 100_000)] {
      let terms = blend.terms(userSupport: users, itemSupport: items)
      let expected = SupportSamples.trueTerms(userSupport: users, itemSupport: items)
      #expect(isClose(terms.intercept, expected.intercept, tolerance: 1e-6), "\(users), \(items)")
      #expect(isClose(terms.weights[0], expected.weights[0], tolerance: 1e-6), "\(users), \(items)")
      #expect(isClose(terms.weights[1], expected.weights[1], tolerance: 1e-6), "\(users), \(items)")
    }
  }

  @Test func featureWeightedStandardisesSupport() {
    // The item feature is (log(1 + n_i) - mean) / sd over the samples, so
    // model A's item coefficient is the true slope 0.08 times that sd.
    let samples = SupportSamples(count: 400, noise: 0, seed: 11)
    let blend = MetaLearner.featureWeighted.fit(
      predictions: samples.predictions, targets: samples.targets,
      userSupport: samples.userSupport, itemSupport: samples.itemSupport)
    let logItems = samples.itemSupport.map { log1p(Double($0)) }
    let mean = logItems.reduce(0, +) / 400
    let deviation = (logItems.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 400).squareRoot()

    #expect(blend.features == [.constant, .logUserSupport, .logItemSupport])
    #expect(isClose(blend.centers[2], mean, tolerance: 1e-12))
    #expect(isClose(blend.scales[2], deviation, tolerance: 1e-12))
    #expect(isClose(blend.coefficients[0][2], 0.08 * deviation, tolerance: 1e-6))
    #expect(isClose(blend.coefficients[1][2], 0, tolerance: 1e-6))
  }

  @Test func featureWeightedBeatsLeastSquares() {
    // Fitted on noisy samples and scored on fresh ones from the same
    // process, the blend whose weight follows the support has lower RMSE.
    let training = SupportSamples(count: 600, noise: 0.3, seed: 12)
    let test = SupportSamples(count: 600, noise: 0.3, seed: 13)
    let weighted = MetaLearner.featureWeighted.fit(
      predictions: training.predictions, targets: training.targets,
      userSupport: training.userSupport, itemSupport: training.itemSupport)
    let plain = Self.fit(.leastSquares, training.predictions, training.targets)

    func rmse(_ blend: BlendModel) -> Double {
      let predictions = test.targets.indices.map { sample in
        blend.blend(
          [Float(test.predictions[0][sample]), Float(test.predictions[1][sample])],
          userSupport: test.userSupport[sample], itemSupport: test.itemSupport[sample])
      }
      return Metrics.rmse(predictions, test.targets)
    }
    #expect(rmse(weighted) < rmse(plain))
    #expect(rmse(weighted) < 0.35)
  }
}
