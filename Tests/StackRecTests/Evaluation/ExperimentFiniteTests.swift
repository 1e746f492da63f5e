import Testing

@testable import StackRec

@Suite struct ExperimentFiniteTests {
  /// Runs the experiment of `ExperimentTests` with matrix factorisation made to diverge. A
  /// step of 1 from initial factors of standard deviation 10 overflows to infinity within a
  /// few epochs, and then to NaN.
  static func divergedResult() -> ExperimentResult {
    var configuration = ExperimentTests.configuration
    configuration.mf.learningRate = 1
    configuration.mf.initStandardDeviation = 10
    configuration.mf.epochs = 50
    return Experiment.run(
      dataset: ExperimentTests.dataset, split: ExperimentTests.split,
      configuration: configuration, logger: silentLogger)
  }

  @Test func finiteResultPasses() throws {
    try ExperimentTests.result.checkFinite()
  }

  @Test func divergedModelIsNamed() throws {
    let result = Self.divergedResult()
    // The divergence must reach the figures, or this test checks nothing.
    try #require(!(result.test.first { $0.key == "mf" }?.rmse.isFinite ?? true))

    let error = #expect(throws: ExperimentError.self) { try result.checkFinite() }
    guard case .nonFiniteResult(let model, let term, _)? = error else {
      Issue.record("expected nonFiniteResult, got \(String(describing: error))")
      return
    }
    #expect(model == "mf")
    #expect(term == "meta-train RMSE")
    #expect(error?.description.contains("--mf-learning-rate") == true)
  }
}
