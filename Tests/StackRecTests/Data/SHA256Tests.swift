import Testing

@testable import StackRec

@Suite struct SHA256Tests {
  // MARK: - FIPS 180-2 test vectors

  @Test func abcVector() {
    #expect(
      SHA256.hexDigest(Array("abc".utf8))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }

  @Test func emptyMessageVector() {
    #expect(
      SHA256.hexDigest([])
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  @Test func twoBlockVector() {
    let message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    #expect(message.utf8.count * 8 == 448)
    #expect(
      SHA256.hexDigest(Array(message.utf8))
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  @Test func millionAVector() {
    var hash = SHA256()
    let thousand = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
    for _ in 0..<1000 {
      hash.update(thousand)
    }
    #expect(
      hexString(hash.finalize())
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  // MARK: - Padding boundaries

  /// Digests of n repetitions of "a", from Python's hashlib, around the lengths where the
  /// padding spills into an extra block (55, 56) or a message fills whole blocks (64, 128).
  static let repeatedA: [(count: Int, digest: String)] = [
    (1, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
    (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
    (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
    (57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"),
    (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
    (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
    (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
    (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
    (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
    (127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a"),
    (128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"),
    (129, "c12cb024a2e5551cca0e08fce8f1c5e314555cc3fef6329ee994a3db752166ae"),
  ]

  @Test(arguments: repeatedA)
  func paddingBoundary(count: Int, digest: String) {
    let message = [UInt8](repeating: UInt8(ascii: "a"), count: count)
    #expect(SHA256.hexDigest(message) == digest, "length \(count)")
  }

  // MARK: - Incremental use

  @Test func chunkedUpdatesMatchOneUpdate() {
    var generator = SeededGenerator(seed: 42)
    let message = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    let expected = SHA256.hash(message)

    for round in 0..<20 {
      var hash = SHA256()
      var offset = 0
      while offset < message.count {
        // Mostly short chunks, so that block boundaries fall inside them, and some long ones.
        let limit = generator.nextInt(below: 4) == 0 ? 300 : 70
        let size = min(generator.nextInt(below: limit + 1), message.count - offset)
        message[offset..<(offset + size)].withUnsafeBytes { hash.update($0) }
        offset += size
      }
      #expect(hash.finalize() == expected, "round \(round)")
    }
  }

  @Test func finalizeLeavesHashUsable() {
    var hash = SHA256()
    hash.update(Array("ab".utf8))
    let first = hash.finalize()
    #expect(hash.finalize() == first)

    hash.update(Array("c".utf8))
    #expect(hash.finalize() == SHA256.hash(Array("abc".utf8)))
    #expect(first == SHA256.hash(Array("ab".utf8)))
  }

  @Test func emptyUpdateChangesNothing() {
    var hash = SHA256()
    hash.update(Array("abc".utf8))
    hash.update([])
    hash.update(UnsafeRawBufferPointer(start: nil, count: 0))
    #expect(hash.finalize() == SHA256.hash(Array("abc".utf8)))
  }

  @Test func digestIsThirtyTwoBytes() {
    #expect(SHA256.hash(Array("abc".utf8)).count == 32)
  }

  // MARK: - Hex encoding

  @Test func hexStringIsLowercaseAndPadded() {
    #expect(hexString([]) == "")
    #expect(hexString([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
  }
}
