import Testing

@testable import StackRec

@Suite struct AverageEnsembleTests {
  @Test func combineTakesMean() {
    #expect(AverageEnsemble().combine([1, 2, 6]) == 3)
    #expect(AverageEnsemble().combine([3.5]) == 3.5)
  }

  @Test func combineOfNothingIsZero() {
    #expect(AverageEnsemble().combine([]) == 0)
  }

  @Test func columnsCombinePerSample() {
    // predictions[m][n] is model m's prediction for sample n.
    let predictions: [[Double]] = [[1, 4, 2], [3, 4, 5]]
    #expect(AverageEnsemble().combine(columns: predictions) == [2, 4, 3.5])
  }

  @Test func keyIsReportName() {
    #expect(AverageEnsemble().key == "average")
  }
}
