import Testing

@testable import StackRec

@Suite struct SeededGeneratorTests {
  /// xoshiro256** seeded through SplitMix64, transcribed from the
  /// algorithms in Blackman and Vigna, "Scrambled Linear Pseudorandom Number
  /// Generators" (2021), with the state kept in an array.
  struct ReferenceGenerator {
    var state: [UInt64]

    init(seed: UInt64) {
      var splitMixState = seed
      state = (0..<4).map { _ in
        splitMixState = splitMixState &+ 0x9E37_79B9_7F4A_7C15
        var z = splitMixState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
      }
    }

    static func rotateLeft(_ value: UInt64, by count: UInt64) -> UInt64 {
      (value << count) | (value >> (64 - count))
    }

    mutating func next() -> UInt64 {
      let result = Self.rotateLeft(state[1] &* 5, by: 7) &* 9
      let shifted = state[1] << 17
      state[2] ^= state[0]
      state[3] ^= state[1]
      state[1] ^= state[2]
      state[0] ^= state[3]
      state[2] ^= shifted
      state[3] = Self.rotateLeft(state[3], by: 45)
      return result
    }
  }

  @Test(arguments: [0, 1, 42, UInt64.max])
  func outputMatchesReferenceAlgorithm(seed: UInt64) {
    var generator = SeededGenerator(seed: seed)
    var reference = ReferenceGenerator(seed: seed)
    for draw in 0..<100 {
      #expect(generator.next() == reference.next(), "draw \(draw)")
    }
  }

  @Test func sameSeedRepeatsSequence() {
    var first = SeededGenerator(seed: 7)
    var second = SeededGenerator(seed: 7)
    let a = (0..<20).map { _ in first.next() }
    let b = (0..<20).map { _ in second.next() }
    #expect(a == b)
  }

  @Test func otherSeedChangesSequence() {
    var first = SeededGenerator(seed: 7)
    var second = SeededGenerator(seed: 8)
    let a = (0..<20).map { _ in first.next() }
    let b = (0..<20).map { _ in second.next() }
    #expect(a != b)
  }

  @Test(arguments: [1, 2, 3, 7, 10, 1_000, 1 << 40, Int.max])
  func nextIntStaysBelowBound(bound: Int) {
    var generator = SeededGenerator(seed: UInt64(bound))
    for _ in 0..<10_000 {
      let value = generator.nextInt(below: bound)
      #expect(value >= 0, "\(value)")
      #expect(value < bound, "\(value)")
    }
  }

  @Test(arguments: [3, 10])
  func nextIntIsRoughlyUniform(bound: Int) {
    // Pearson's chi-square over the buckets. Its 99.999th percentile is
    // about 23 for 2 degrees of freedom and 39 for 9, so 50 is generous.
    let draws = 100_000
    var counts = [Int](repeating: 0, count: bound)
    var generator = SeededGenerator(seed: 123)
    for _ in 0..<draws { counts[generator.nextInt(below: bound)] += 1 }
    let expected = Double(draws) / Double(bound)
    let chiSquare = counts.reduce(0.0) { sum, count in
      sum + (Double(count) - expected) * (Double(count) - expected) / expected
    }
    #expect(chiSquare < 50, "counts \(counts)")
  }

  @Test func nextUnitStaysInUnitInterval() {
    var generator = SeededGenerator(seed: 5)
    var sum = 0.0
    for _ in 0..<100_000 {
      let value = generator.nextUnit()
      #expect(value >= 0, "\(value)")
      #expect(value < 1, "\(value)")
      sum += value
    }
    // The mean of 100,000 uniform draws has a standard error of 0.0009.
    #expect(abs(sum / 100_000 - 0.5) < 0.005)
  }

  @Test func gaussianHasRequestedMoments() {
    // Standard errors over 100,000 draws with deviation 3: 0.0095 for the
    // mean and about 0.0067 for the deviation.
    var generator = SeededGenerator(seed: 99)
    let draws = (0..<100_000).map { _ in
      generator.nextGaussian(mean: 2, standardDeviation: 3)
    }
    let mean = draws.reduce(0, +) / Double(draws.count)
    let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count)
    #expect(abs(mean - 2) < 0.05)
    #expect(abs(variance.squareRoot() - 3) < 0.04)
  }

  @Test(arguments: [0, 1, 2, 10, 1_000])
  func shuffleIsPermutation(count: Int) {
    var generator = SeededGenerator(seed: 3)
    var values = Array(0..<count)
    generator.shuffle(&values)
    #expect(values.sorted() == Array(0..<count))
  }

  @Test func shuffleMovesElements() {
    var generator = SeededGenerator(seed: 3)
    var values = Array(0..<1_000)
    generator.shuffle(&values)
    #expect(values != Array(0..<1_000))
  }

  @Test func shuffleReachesEveryOrderEvenly() {
    // 6,000 shuffles of three elements: about 1,000 of each of the six
    // orders, with a standard deviation of about 29.
    var generator = SeededGenerator(seed: 17)
    var counts: [[Int]: Int] = [:]
    for _ in 0..<6_000 {
      var values = [0, 1, 2]
      generator.shuffle(&values)
      counts[values, default: 0] += 1
    }
    #expect(counts.count == 6)
    for (order, count) in counts {
      #expect((850...1_150).contains(count), "order \(order)")
    }
  }
}
