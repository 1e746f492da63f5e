import Testing

@testable import StackRec

@Suite struct MetricsTests {
  @Test func rmseOfHandExample() {
    // Errors (0, 0, 2): sqrt((0 + 0 + 4) / 3).
    #expect(isClose(Metrics.rmse([1, 2, 3], [1, 2, 5]), (4.0 / 3).squareRoot()))
  }

  @Test func maeOfHandExample() {
    // Errors (0, -1, 2): (0 + 1 + 2) / 3.
    #expect(isClose(Metrics.mae([1, 3, 3], [1, 2, 5]), 1))
  }

  @Test func metricsMatchPlainLoop() {
    var generator = SeededGenerator(seed: 21)
    let truth = (0..<1000).map { _ in Double(1 + generator.nextInt(below: 10)) / 2 }
    let predictions = truth.map { $0 + generator.nextGaussian(standardDeviation: 0.9) }
    var squared = 0.0
    var absolute = 0.0
    for (prediction, rating) in zip(predictions, truth) {
      squared += (prediction - rating) * (prediction - rating)
      absolute += abs(prediction - rating)
    }

    #expect(isClose(Metrics.rmse(predictions, truth), (squared / 1000).squareRoot()))
    #expect(isClose(Metrics.mae(predictions, truth), absolute / 1000))
  }

  @Test func perfectPredictionsScoreZero() {
    #expect(Metrics.rmse([1, 4.5], [1, 4.5]) == 0)
    #expect(Metrics.mae([1, 4.5], [1, 4.5]) == 0)
  }

  @Test func emptyInputScoresZero() {
    #expect(Metrics.rmse([], []) == 0)
    #expect(Metrics.mae([], []) == 0)
  }

  @Test func clipLimitsToScale() {
    let clipped = Metrics.clip([-1, 0.2, 0.5, 3, 5, 7.2], to: 0.5...5)
    #expect(clipped == [0.5, 0.5, 0.5, 3, 5, 5])
  }
}
