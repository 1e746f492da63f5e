import Testing

@testable import StackRec

@Suite struct LeastSquaresTests {
  /// `count` samples of `featureCount` features drawn uniformly from 1 to 5,
  /// the range of rating predictions.
  static func randomFeatures(featureCount: Int, count: Int, seed: UInt64) -> [[Double]] {
    var generator = SeededGenerator(seed: seed)
    return (0..<featureCount).map { _ in
      (0..<count).map { _ in 1 + 4 * generator.nextUnit() }
    }
  }

  /// `intercept + dot(weights, x_n)` for each sample `n`.
  static func linearTargets(_ features: [[Double]], intercept: Double, weights: [Double])
    -> [Double]
  {
    (0..<features[0].count).map { sample in
      var value = intercept
      for (feature, weight) in zip(features, weights) { value += weight * feature[sample] }
      return value
    }
  }

  @Test func recoversNoiselessWeights() {
    let features = Self.randomFeatures(featureCount: 3, count: 40, seed: 1)
    let targets = Self.linearTargets(features, intercept: 0.5, weights: [1.5, -2, 0.25])

    let solution = LeastSquares.fit(features: features, targets: targets)
    #expect(isClose(solution.intercept, 0.5, tolerance: 1e-9))
    #expect(isClose(solution.weights[0], 1.5, tolerance: 1e-9))
    #expect(isClose(solution.weights[1], -2, tolerance: 1e-9))
    #expect(isClose(solution.weights[2], 0.25, tolerance: 1e-9))
  }

  @Test func smallNoiseKeepsWeightsClose() {
    // Noise with standard deviation 0.01 on 2,000 samples moves each weight
    // by about 0.01 / sqrt(2000 * 4 / 3) = 0.0002.
    let features = Self.randomFeatures(featureCount: 3, count: 2000, seed: 2)
    var generator = SeededGenerator(seed: 3)
    let targets = Self.linearTargets(features, intercept: -0.2, weights: [0.3, 0.5, 0.25])
      .map { $0 + generator.nextGaussian(standardDeviation: 0.01) }

    let solution = LeastSquares.fit(features: features, targets: targets)
    #expect(isClose(solution.intercept, -0.2, tolerance: 0.01))
    #expect(isClose(solution.weights[0], 0.3, tolerance: 0.002))
    #expect(isClose(solution.weights[1], 0.5, tolerance: 0.002))
    #expect(isClose(solution.weights[2], 0.25, tolerance: 0.002))
  }

  @Test func twoFeaturesMatchCramersRule() {
    // The centred normal equations for two features, solved in closed form:
    //   [s00 s01] [w0]   [s0y]
    //   [s01 s11] [w1] = [s1y]
    let features = Self.randomFeatures(featureCount: 2, count: 300, seed: 4)
    var generator = SeededGenerator(seed: 5)
    let targets = features[0].indices.map { _ in 1 + 4 * generator.nextUnit() }
    let n = Double(targets.count)
    let mean0 = features[0].reduce(0, +) / n
    let mean1 = features[1].reduce(0, +) / n
    let meanY = targets.reduce(0, +) / n
    var (s00, s01, s11, s0y, s1y) = (0.0, 0.0, 0.0, 0.0, 0.0)
    for sample in 0..<targets.count {
      let x0 = features[0][sample] - mean0
      let x1 = features[1][sample] - mean1
      let y = targets[sample] - meanY
      s00 += x0 * x0
      s01 += x0 * x1
      s11 += x1 * x1
      s0y += x0 * y
      s1y += x1 * y
    }
    let determinant = s00 * s11 - s01 * s01
    let w0 = (s0y * s11 - s01 * s1y) / determinant
    let w1 = (s00 * s1y - s01 * s0y) / determinant
    let intercept = meanY - w0 * mean0 - w1 * mean1

    let solution = LeastSquares.fit(features: features, targets: targets)
    #expect(isClose(solution.weights[0], w0, tolerance: 1e-10))
    #expect(isClose(solution.weights[1], w1, tolerance: 1e-10))
    #expect(isClose(solution.intercept, intercept, tolerance: 1e-10))
  }

  @Test(arguments: [0.0, 1, 10, 100])
  func ridgeMatchesOneFeatureFormula(ridge: Double) {
    // With one feature, w = sum(xc * yc) / (sum(xc^2) + lambda) and
    // b = mean(y) - w * mean(x).
    let x = [1.0, 2, 3, 4, 5]
    let y = [2.0, 2.5, 4, 4.5, 6.5]
    // mean(x) = 3, mean(y) = 3.9; xc = (-2, -1, 0, 1, 2);
    // yc = (-1.9, -1.4, 0.1, 0.6, 2.6); sum(xc * yc) = 3.8 + 1.4 + 0 + 0.6 + 5.2 = 11;
    // sum(xc^2) = 10.
    let weight = 11 / (10 + ridge)
    let intercept = 3.9 - weight * 3

    let solution = LeastSquares.fit(features: [x], targets: y, ridge: ridge)
    #expect(isClose(solution.weights[0], weight, tolerance: 1e-12))
    #expect(isClose(solution.intercept, intercept, tolerance: 1e-12))
  }

  @Test func ridgeShrinksWeights() {
    let features = Self.randomFeatures(featureCount: 3, count: 100, seed: 6)
    let targets = Self.linearTargets(features, intercept: 0.1, weights: [0.6, -0.4, 0.8])
    func squaredNorm(_ ridge: Double) -> Double {
      let weights = LeastSquares.fit(features: features, targets: targets, ridge: ridge).weights
      return weights.reduce(0) { $0 + $1 * $1 }
    }
    let norms = [0.0, 1, 10, 100, 1000].map(squaredNorm)
    for index in 1..<norms.count {
      #expect(norms[index] < norms[index - 1], "ridge step \(index)")
    }
  }

  @Test func constantTargetGivesZeroWeights() {
    let features = Self.randomFeatures(featureCount: 3, count: 50, seed: 7)
    let targets = [Double](repeating: 3.7, count: 50)

    let solution = LeastSquares.fit(features: features, targets: targets)
    for (feature, weight) in solution.weights.enumerated() {
      #expect(weight.isFinite, "feature \(feature)")
      #expect(abs(weight) < 1e-12, "feature \(feature)")
    }
    #expect(isClose(solution.intercept, 3.7, tolerance: 1e-12))
  }

  @Test func constantFeatureGetsZeroWeight() {
    let varying = Self.randomFeatures(featureCount: 1, count: 30, seed: 8)[0]
    let constant = [Double](repeating: 2, count: 30)
    let targets = varying.map { 1 + 0.5 * $0 }

    let solution = LeastSquares.fit(features: [varying, constant], targets: targets)
    #expect(solution.weights[1] == 0)
    #expect(isClose(solution.weights[0], 0.5, tolerance: 1e-9))
    #expect(isClose(solution.intercept, 1, tolerance: 1e-9))
  }

  @Test func duplicatedFeatureSharesWeight() {
    // Two identical models: any split of the weight between them fits, and
    // the solver must return a finite one whose sum is right.
    let features = Self.randomFeatures(featureCount: 2, count: 60, seed: 9)
    let targets = Self.linearTargets(features, intercept: 1, weights: [2, 3])
    let duplicated = [features[0], features[0], features[1]]

    let solution = LeastSquares.fit(features: duplicated, targets: targets)
    #expect(solution.weights.allSatisfy { $0.isFinite })
    #expect(isClose(solution.weights[0] + solution.weights[1], 2, tolerance: 1e-9))
    #expect(isClose(solution.weights[2], 3, tolerance: 1e-9))
    #expect(isClose(solution.intercept, 1, tolerance: 1e-9))
  }

  @Test func noSamplesGiveZeroSolution() {
    let solution = LeastSquares.fit(features: [[], []], targets: [])
    #expect(solution.intercept == 0)
    #expect(solution.weights == [0, 0])
  }
}
