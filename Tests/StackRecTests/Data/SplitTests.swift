import Testing

@testable import StackRec

@Suite struct SplitTests {
  @Test func sizesMatchProtocol() {
    let split = Split.random(rowCount: 100_836, seed: 42)
    #expect(split.test.count == 20_168)
    #expect(split.metaTrain.count == 16_134)
    #expect(split.baseTrain.count == 64_534)
  }
}
