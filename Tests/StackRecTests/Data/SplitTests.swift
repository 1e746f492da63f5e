import Testing

@testable import StackRec

@Suite struct SplitTests {
  @Test func sizesMatchProtocol() {
    let split = Split.random(rowCount: 100_836, seed: 42)
    #expect(split.test.count == 20_168)
    #expect(split.metaTrain.count == 16_134)
    #expect(split.baseTrain.count == 64_534)
  }

  @Test(arguments: [0, 1, 2, 4, 5, 6, 9, 10, 11, 99, 100, 101, 1_000, 12_345, 100_836])
  func sizesFollowCeilingFormula(rowCount: Int) {
    // test = ceil(n / 5) and meta = ceil(rest / 5), in integer arithmetic.
    let test = (rowCount + 4) / 5
    let rest = rowCount - test
    let meta = (rest + 4) / 5

    let split = Split.random(rowCount: rowCount, seed: 1)
    #expect(split.test.count == test)
    #expect(split.metaTrain.count == meta)
    #expect(split.baseTrain.count == rest - meta)
  }

  @Test func customFractionsSetSizes() {
    // test = ceil(0.1 * 1000) = 100; meta = ceil(0.5 * 900) = 450.
    let split = Split.random(rowCount: 1000, seed: 1, testFraction: 0.1, metaFraction: 0.5)
    #expect(split.test.count == 100)
    #expect(split.metaTrain.count == 450)
    #expect(split.baseTrain.count == 450)
  }

  @Test func zeroFractionsKeepAllInBase() {
    let split = Split.random(rowCount: 50, seed: 1, testFraction: 0, metaFraction: 0)
    #expect(split.test.isEmpty)
    #expect(split.metaTrain.isEmpty)
    #expect(split.baseTrain.count == 50)
  }

  @Test(arguments: [1, 7, 100, 5_000])
  func partsAreDisjointAndCoverRows(rowCount: Int) {
    let split = Split.random(rowCount: rowCount, seed: 9)
    let all = split.baseTrain + split.metaTrain + split.test
    #expect(all.sorted() == Array(0..<rowCount))
    #expect(Set(all).count == all.count)
  }

  @Test func rowsAreShuffled() {
    let split = Split.random(rowCount: 1000, seed: 42)
    #expect(split.test != Array(0..<200))
    #expect(split.baseTrain != split.baseTrain.sorted())
  }

  @Test func sameSeedGivesSameSplit() {
    #expect(Split.random(rowCount: 1000, seed: 42) == Split.random(rowCount: 1000, seed: 42))
  }

  @Test func otherSeedGivesOtherSplit() {
    let first = Split.random(rowCount: 1000, seed: 42)
    let second = Split.random(rowCount: 1000, seed: 43)
    #expect(first.test != second.test)
    #expect(first.metaTrain != second.metaTrain)
    #expect(first.baseTrain != second.baseTrain)
  }

  @Test func trainFullIsBaseThenMeta() {
    let split = Split(baseTrain: [4, 1], metaTrain: [0], test: [2, 3])
    #expect(split.trainFull == [4, 1, 0])
  }
}
