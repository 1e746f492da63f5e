import Testing

@testable import StackRec

@Suite struct BandScaleTests {
  @Test func bandsSplitRangeWithPadding() {
    // Steps: 0.1 outer + 4 bands - 0.2 inner gap + 0.1 outer = 4 steps of 25.
    let bands = BandScale(count: 4, range: 0...100, innerPadding: 0.2, outerPadding: 0.1)
    #expect(isClose(bands.step, 25))
    #expect(isClose(bands.bandwidth, 20))
    #expect(isClose(bands.start(0), 2.5))
    #expect(isClose(bands.start(3), 77.5))
    #expect(isClose(bands.start(3) + bands.bandwidth, 97.5))
  }

  @Test func centersAreEvenlySpaced() {
    let bands = BandScale(count: 5, range: 100...600)
    let centers = (0..<5).map(bands.center)
    let gaps = zip(centers, centers.dropFirst()).map { $1 - $0 }
    for gap in gaps { #expect(isClose(gap, bands.step)) }
    // The padding is the same at both ends, so the middle band is centred.
    #expect(isClose(centers[2], 350))
  }

  @Test func bandsDoNotOverlap() {
    let bands = BandScale(count: 13, range: 72...1176)
    for index in 0..<12 {
      #expect(bands.start(index) + bands.bandwidth < bands.start(index + 1))
    }
    #expect(bands.start(0) >= 72)
    #expect(bands.start(12) + bands.bandwidth <= 1176)
  }

  @Test func emptyScaleHasNoWidth() {
    let bands = BandScale(count: 0, range: 0...100)
    #expect(bands.step == 0)
    #expect(bands.bandwidth == 0)
  }
}
