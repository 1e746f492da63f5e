import Testing

@testable import StackRec

@Suite struct LinearStackerTests {
  @Test func combineAddsWeightedPredictions() {
    // -0.5 + 0.5 * 4 + 0.25 * 2 + 0.5 * 3 = 3.5
    let stacker = LinearStacker(intercept: -0.5, weights: [0.5, 0.25, 0.5])
    #expect(stacker.combine([4, 2, 3]) == 3.5)
  }

  @Test func columnsCombinePerSample() {
    // 1 + 2 * 1 - 1 * 3 = 0 and 1 + 2 * 2 - 1 * 1 = 4.
    let stacker = LinearStacker(intercept: 1, weights: [2, -1])
    #expect(stacker.combine(columns: [[1, 2], [3, 1]]) == [0, 4])
  }

  @Test func fitRecoversBlendWeights() {
    // Targets made exactly as 0.2 + 0.3 * model 0 + 0.7 * model 1.
    var generator = SeededGenerator(seed: 12)
    let predictions = (0..<2).map { _ in (0..<50).map { _ in 1 + 4 * generator.nextUnit() } }
    let targets = (0..<50).map { 0.2 + 0.3 * predictions[0][$0] + 0.7 * predictions[1][$0] }

    let stacker = LinearStacker.fit(predictions: predictions, targets: targets)
    #expect(isClose(stacker.intercept, 0.2))
    #expect(isClose(stacker.weights[0], 0.3))
    #expect(isClose(stacker.weights[1], 0.7))
  }

  @Test func fitPassesRidgeToSolver() {
    var generator = SeededGenerator(seed: 13)
    let predictions = (0..<3).map { _ in (0..<40).map { _ in 1 + 4 * generator.nextUnit() } }
    let targets = (0..<40).map { _ in 1 + 4 * generator.nextUnit() }

    let stacker = LinearStacker.fit(predictions: predictions, targets: targets, ridge: 5)
    let solution = LeastSquares.fit(features: predictions, targets: targets, ridge: 5)
    let unpenalised = LeastSquares.fit(features: predictions, targets: targets)
    #expect(stacker.intercept == solution.intercept)
    #expect(stacker.weights == solution.weights)
    #expect(stacker.weights != unpenalised.weights)
  }

  @Test func keyIsReportName() {
    #expect(LinearStacker(intercept: 0, weights: []).key == "stacked")
  }
}
