import Testing

@testable import StackRec

@Suite struct IDIndexTests {
  @Test func idsAreSortedAndUnique() {
    let index = IDIndex(ids: [50, 10, 50, 30, 10])
    #expect(index.ids == [10, 30, 50])
    #expect(index.count == 3)
  }

  @Test func positionFollowsIdOrder() {
    let index = IDIndex(ids: [50, 10, 30])
    #expect(index.index(of: 10) == 0)
    #expect(index.index(of: 30) == 1)
    #expect(index.index(of: 50) == 2)
  }

  @Test func absentIdHasNoIndex() {
    let index = IDIndex(ids: [50, 10, 30])
    #expect(index.index(of: 20) == nil)
    #expect(index.index(of: 51) == nil)
    #expect(index.index(of: -1) == nil)
    #expect(index.index(of: Int32.max) == nil)
  }

  @Test func sparseLargeIdsAreFound() {
    // Ids far above the count take the dictionary lookup.
    let index = IDIndex(ids: [7, 2_000_000_000, 100, Int32.max])
    #expect(index.index(of: 7) == 0)
    #expect(index.index(of: 100) == 1)
    #expect(index.index(of: 2_000_000_000) == 2)
    #expect(index.index(of: Int32.max) == 3)
    #expect(index.index(of: 8) == nil)
  }

  @Test func negativeIdsAreFound() {
    let index = IDIndex(ids: [3, -5])
    #expect(index.ids == [-5, 3])
    #expect(index.index(of: -5) == 0)
    #expect(index.index(of: 3) == 1)
    #expect(index.index(of: 0) == nil)
  }

  @Test func emptyIndexFindsNothing() {
    let index = IDIndex(ids: [Int32]())
    #expect(index.count == 0)
    #expect(index.index(of: 0) == nil)
    #expect(index.index(of: 1) == nil)
  }

  @Test func everyIdRoundTrips() {
    var generator = SeededGenerator(seed: 4)
    let ids = (0..<2_000).map { _ in Int32(generator.nextInt(below: 200_000)) }
    let index = IDIndex(ids: ids)
    for id in ids {
      let position = index.index(of: id)
      #expect(position.map { index.ids[Int($0)] } == id, "id \(id)")
    }
  }

  @Test func equalityComparesIds() {
    #expect(IDIndex(ids: [3, 1, 2]) == IDIndex(ids: [1, 2, 3, 3]))
    #expect(IDIndex(ids: [1, 2]) != IDIndex(ids: [1, 3]))
  }
}
