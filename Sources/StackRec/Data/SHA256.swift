/// An incremental SHA-256 hash.
///
/// The code follows FIPS 180-4, "Secure Hash Standard (SHS)", NIST, August 2015. It takes the
/// functions and constants from sections 4.1.2 and 4.2.2, the padding from section 5.1.1, the
/// initial hash value from section 5.3.3 and the computation from section 6.2.
///
/// ```
/// var hash = SHA256()
/// hash.update(Array("ab".utf8))
/// hash.update(Array("c".utf8))
/// hexString(hash.finalize())  // "ba7816bf...f20015ad"
/// SHA256.hexDigest(Array("abc".utf8))  // the same digest in one call
/// ```
///
/// - Complexity: O(n) in the number of bytes hashed. Whole 64-byte blocks are compressed
///   straight from the caller's buffer; only the bytes of an incomplete block are copied.
public struct SHA256: Sendable {
  /// The eight 32-bit working words H0 through H7 of the intermediate hash value.
  private typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

  private var state: State

  /// The bytes of the current, incomplete block, always fewer than 64.
  private var pending: [UInt8]

  /// The number of message bytes hashed so far, modulo 2^64.
  private var messageLength: UInt64

  public init() {
    // FIPS 180-4 section 5.3.3: the first 32 bits of the fractional parts of the square
    // roots of the first eight primes.
    state = (
      0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
      0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
    )
    pending = []
    pending.reserveCapacity(SHA256.blockSize)
    messageLength = 0
  }

  /// Adds the bytes to the message.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    messageLength &+= UInt64(bytes.count)
    var offset = 0

    // Complete a block that an earlier call left unfinished.
    if !pending.isEmpty {
      let copiedCount = min(SHA256.blockSize - pending.count, bytes.count)
      pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: copiedCount))
      offset = copiedCount
      if pending.count < SHA256.blockSize { return }
      pending.withUnsafeBytes { block in
        // The array holds exactly one block here, so its base address is not nil.
        SHA256.compress(&state, blocks: block.baseAddress!, count: 1)
      }
      pending.removeAll(keepingCapacity: true)
    }

    // Compress the whole blocks in place.
    let blockCount = (bytes.count - offset) / SHA256.blockSize
    if blockCount > 0 {
      SHA256.compress(&state, blocks: base + offset, count: blockCount)
      offset += blockCount * SHA256.blockSize
    }

    // Keep the tail for the next call or for the padding.
    if offset < bytes.count {
      pending.append(
        contentsOf: UnsafeRawBufferPointer(start: base + offset, count: bytes.count - offset))
    }
  }

  /// Adds the bytes to the message.
  public mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  /// Returns the 32-byte digest of the message so far.
  ///
  /// The padding goes into a copy, so the hash can take more input afterwards and a later
  /// call covers the longer message.
  public func finalize() -> [UInt8] {
    // FIPS 180-4 section 5.1.1: a one bit, zeros up to 56 bytes past a block boundary,
    // then the message length in bits as a 64-bit big-endian integer.
    let bitLength = messageLength &* 8
    let zeroCount = (SHA256.blockSize * 2 - 9 - pending.count) % SHA256.blockSize
    var padding = [UInt8](repeating: 0, count: 1 + zeroCount + 8)
    padding[0] = 0x80
    for index in 0..<8 {
      padding[1 + zeroCount + index] = UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * index))
    }
    var copy = self
    copy.update(padding)

    var digest: [UInt8] = []
    digest.reserveCapacity(32)
    let words = copy.state
    for word in [words.0, words.1, words.2, words.3, words.4, words.5, words.6, words.7] {
      digest.append(UInt8(truncatingIfNeeded: word >> 24))
      digest.append(UInt8(truncatingIfNeeded: word >> 16))
      digest.append(UInt8(truncatingIfNeeded: word >> 8))
      digest.append(UInt8(truncatingIfNeeded: word))
    }
    return digest
  }

  /// Returns the 32-byte digest of the bytes.
  public static func hash(_ bytes: [UInt8]) -> [UInt8] {
    var hash = SHA256()
    hash.update(bytes)
    return hash.finalize()
  }

  /// Returns the digest of the bytes as 64 lowercase hexadecimal digits.
  public static func hexDigest(_ bytes: [UInt8]) -> String {
    hexString(hash(bytes))
  }

  private static let blockSize = 64

  /// FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots
  /// of the first 64 primes.
  private static let roundConstants: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4,
    0xab1c_5ed5, 0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe,
    0x9bdc_06a7, 0xc19b_f174, 0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f,
    0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da, 0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7,
    0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967, 0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc,
    0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85, 0xa2bf_e8a1, 0xa81a_664b,
    0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070, 0x19a4_c116,
    0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7,
    0xc671_78f2,
  ]

  /// Applies the SHA-256 compression function (FIPS 180-4 section 6.2.2) to `count`
  /// consecutive 64-byte blocks starting at `blocks`, which need not be aligned.
  private static func compress(_ state: inout State, blocks: UnsafeRawPointer, count: Int) {
    var (h0, h1, h2, h3, h4, h5, h6, h7) = state

    roundConstants.withUnsafeBufferPointer { k in
      withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
        for blockIndex in 0..<count {
          let block = blocks + blockIndex * blockSize

          // Step 1: the message schedule. The block's words are big-endian.
          for t in 0..<16 {
            w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self))
          }
          for t in 16..<64 {
            let x = w[t - 15]
            let y = w[t - 2]
            let sigma0 = rotateRight(x, 7) ^ rotateRight(x, 18) ^ (x >> 3)
            let sigma1 = rotateRight(y, 17) ^ rotateRight(y, 19) ^ (y >> 10)
            w[t] = sigma1 &+ w[t - 7] &+ sigma0 &+ w[t - 16]
          }

          // Steps 2 and 3: 64 rounds over the working variables a through h.
          var a = h0
          var b = h1
          var c = h2
          var d = h3
          var e = h4
          var f = h5
          var g = h6
          var h = h7
          for t in 0..<64 {
            let bigSigma1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
            let choose = (e & f) ^ (~e & g)
            let t1 = h &+ bigSigma1 &+ choose &+ k[t] &+ w[t]
            let bigSigma0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let t2 = bigSigma0 &+ majority
            h = g
            g = f
            f = e
            e = d &+ t1
            d = c
            c = b
            b = a
            a = t1 &+ t2
          }

          // Step 4: the next intermediate hash value.
          h0 &+= a
          h1 &+= b
          h2 &+= c
          h3 &+= d
          h4 &+= e
          h5 &+= f
          h6 &+= g
          h7 &+= h
        }
      }
    }

    state = (h0, h1, h2, h3, h4, h5, h6, h7)
  }

  @inline(__always)
  private static func rotateRight(_ x: UInt32, _ count: UInt32) -> UInt32 {
    (x >> count) | (x << (32 - count))
  }
}

/// Returns the bytes as lowercase hexadecimal digits, two per byte.
public func hexString(_ bytes: [UInt8]) -> String {
  let digits = Array("0123456789abcdef".utf8)
  var text: [UInt8] = []
  text.reserveCapacity(bytes.count * 2)
  for byte in bytes {
    text.append(digits[Int(byte >> 4)])
    text.append(digits[Int(byte & 0x0f)])
  }
  return String(decoding: text, as: UTF8.self)
}
