import Glibc

/// A seeded pseudo-random generator: xoshiro256** seeded through SplitMix64.
///
/// Every random choice in stackrec (the split shuffle, fold assignment, SGD
/// order, factor initialisation) draws from this generator, so the same seed
/// gives the same results on every platform and Swift release. The standard
/// library's `shuffle(using:)` and `random(in:using:)` are not used because
/// their algorithms may change between releases.
///
/// Sources: David Blackman and Sebastiano Vigna, "Scrambled Linear
/// Pseudorandom Number Generators", ACM TOMS 47(4), 2021 (xoshiro256** and
/// seeding its state from SplitMix64); Daniel Lemire, "Fast Random Integer
/// Generation in an Interval", ACM TOMACS 29(1), 2019 (bounded integers
/// without modulo bias).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: (UInt64, UInt64, UInt64, UInt64)

  public init(seed: UInt64) {
    var splitMix = seed
    func nextSplitMix() -> UInt64 {
      splitMix &+= 0x9E37_79B9_7F4A_7C15
      var z = splitMix
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
  }

  /// Returns the next 64 random bits (xoshiro256**).
  public mutating func next() -> UInt64 {
    let result = rotateLeft(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = rotateLeft(state.3, 45)
    return result
  }

  /// Returns a uniform integer in `0..<bound` (Lemire's method).
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive, got \(bound)")
    let range = UInt64(bound)
    var product = next().multipliedFullWidth(by: range)
    if product.low < range {
      let threshold = (0 &- range) % range
      while product.low < threshold {
        product = next().multipliedFullWidth(by: range)
      }
    }
    return Int(product.high)
  }

  /// Returns a uniform double in `[0, 1)` with 53 random bits.
  public mutating func nextUnit() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// Returns a normally distributed double (Marsaglia's polar method).
  public mutating func nextGaussian(mean: Double = 0, standardDeviation: Double = 1) -> Double {
    while true {
      let u = 2 * nextUnit() - 1
      let v = 2 * nextUnit() - 1
      let s = u * u + v * v
      if s > 0 && s < 1 {
        // NOTE: log is not correctly rounded on every libm, so the last bit
        // of a Gaussian draw may differ between platforms.
        return mean + standardDeviation * u * (-2 * log(s) / s).squareRoot()
      }
    }
  }

  /// Shuffles the array in place (Fisher-Yates, from the last element down).
  public mutating func shuffle<T>(_ elements: inout [T]) {
    var index = elements.count - 1
    while index > 0 {
      let other = nextInt(below: index + 1)
      elements.swapAt(index, other)
      index -= 1
    }
  }

  private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
    (x << k) | (x >> (64 - k))
  }
}
