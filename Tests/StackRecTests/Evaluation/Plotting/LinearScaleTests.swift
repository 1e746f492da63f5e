import Testing

@testable import StackRec

@Suite struct LinearScaleTests {
  @Test func mapsDomainOntoRange() {
    let scale = LinearScale(domain: 0...10, range: 100...300)
    #expect(scale.position(0) == 100)
    #expect(scale.position(10) == 300)
    #expect(scale.position(2.5) == 150)
    #expect(scale.position(-5) == 0)
  }

  @Test func invertedRangePutsLowValuesLow() {
    // An SVG y axis: the domain's lower bound sits at the bottom, at large y.
    let scale = LinearScale(domain: 0...10, range: 20...300, inverted: true)
    #expect(scale.position(0) == 300)
    #expect(scale.position(10) == 20)
    #expect(scale.position(2.5) == 230)
  }

  @Test func negativeDomainMapsLinearly() {
    let scale = LinearScale(domain: -4...4, range: 0...800)
    #expect(scale.position(-4) == 0)
    #expect(scale.position(0) == 400)
    #expect(scale.position(1) == 500)
  }

  @Test func clampedPositionStaysInRange() {
    let scale = LinearScale(domain: 1...5, range: 0...400)
    #expect(scale.clampedPosition(7) == 400)
    #expect(scale.clampedPosition(-2) == 0)
    #expect(scale.clampedPosition(3) == 200)
  }

  static let tickCases: [(domain: ClosedRange<Double>, count: Int, ticks: [Double])] = [
    (0...1, 5, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    (0...10, 5, [0, 2, 4, 6, 8, 10]),
    (0.25...5.25, 10, [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]),
    (0...28_000, 5, [0, 10_000, 20_000]),
    (0...28_000, 6, [0, 5_000, 10_000, 15_000, 20_000, 25_000]),
    (-4.5...4.5, 12, [-4, -3, -2, -1, 0, 1, 2, 3, 4]),
    (0.855...0.919, 5, [0.86, 0.88, 0.9]),
    (-0.3...0.46, 6, [-0.2, 0, 0.2, 0.4]),
    (0...0.003, 3, [0, 0.001, 0.002, 0.003]),
  ]

  @Test(arguments: tickCases)
  func ticksFollowOneTwoFive(
    _ testCase: (domain: ClosedRange<Double>, count: Int, ticks: [Double])
  ) {
    let scale = LinearScale(domain: testCase.domain, range: 0...100)
    #expect(scale.ticks(count: testCase.count) == testCase.ticks, "\(testCase.domain)")
  }

  @Test func tickValuesAreExactDecimals() {
    // 3 times 0.1 in floating point is 0.30000000000000004.
    let ticks = LinearScale(domain: 0...1, range: 0...100).ticks(count: 10)
    #expect(ticks.count == 11)
    #expect(ticks.contains(0.3))
    #expect(ticks.contains(0.7))
  }

  static let stepCases: [(span: Double, count: Int, step: Double)] = [
    (4.5, 6, 1), (1, 5, 0.2), (10, 5, 2), (9, 10, 1), (28_000, 6, 5_000), (0.064, 5, 0.02),
    (100, 4, 50), (7, 7, 1),
  ]

  @Test(arguments: stepCases)
  func niceStepPicksOneTwoOrFive(_ testCase: (span: Double, count: Int, step: Double)) {
    let step = LinearScale.niceStep(span: testCase.span, count: testCase.count)
    #expect(isClose(step, testCase.step, tolerance: 1e-12), "span \(testCase.span)")
  }

  @Test func nicedDomainEndsOnTicks() {
    let scale = LinearScale(domain: 0.3...9.2, range: 0...100).niced(count: 5)
    #expect(scale.domain == 0...10)
    let yScale = LinearScale(domain: -0.31...0.46, range: 0...100, inverted: true).niced(count: 6)
    #expect(yScale.domain == -0.4...0.6)
    #expect(yScale.position(-0.4) == 100)
  }

  @Test func singleValueDomainIsWidened() {
    let scale = LinearScale(domain: 5...5, range: 0...100)
    #expect(scale.domain == 4.5...5.5)
    #expect(scale.position(5) == 50)
    #expect(!scale.ticks().isEmpty)
  }

  @Test func zeroDomainIsWidened() {
    let scale = LinearScale(domain: 0...0, range: 0...100)
    #expect(scale.domain == -1...1)
    #expect(scale.position(0) == 50)
    #expect(scale.ticks(count: 4).contains(0))
  }

  @Test func infiniteDomainFallsBackToUnit() {
    let scale = LinearScale(domain: -Double.infinity...Double.infinity, range: 0...100)
    #expect(scale.domain == 0...1)
    #expect(scale.position(0.5) == 50)
    #expect(LinearScale.niceStep(span: 0, count: 5) == 1)
    #expect(LinearScale.niceStep(span: .nan, count: 5) == 1)
  }

  static let decimalCases: [(step: Double, decimals: Int)] = [
    (1000, 0), (5, 0), (1, 0), (0.5, 1), (0.2, 1), (0.1, 1), (0.05, 2), (0.01, 2), (0.002, 3),
  ]

  @Test(arguments: decimalCases)
  func decimalsPrintEveryTick(_ testCase: (step: Double, decimals: Int)) {
    #expect(LinearScale.decimals(of: testCase.step) == testCase.decimals, "\(testCase.step)")
  }
}
