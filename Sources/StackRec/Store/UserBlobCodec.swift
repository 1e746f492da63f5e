/// The byte layout of one user's blob in the feature store: the items the
/// user has rated and every model's score for every item.
///
/// Each score is stored as a quantised residual from the model's
/// `ScoreBasis`: `code = round((score - base) / step)`, so that
/// `base + code * step` is within `step / 2` of the score. The codes are
/// zigzag-mapped to unsigned integers (0, -1, 1, -2, ... become 0, 1, 2,
/// 3, ...) and written as byte planes, low bytes of all items first, which
/// groups the mostly-zero high bytes into long runs that zlib compresses to
/// almost nothing. The whole layout below is compressed with zlib; the
/// CRC-32 of the uncompressed bytes is stored beside the blob.
///
/// ```
/// +---------+--------+----------------+---------------+-------------------------+
/// | version | models | width per model| rated count   | rated items             |
/// | u8 = 1  | u8 = M | M x u8 (2 or 4)| u32 LE        | LEB128 gaps, ascending  |
/// +---------+--------+----------------+---------------+-------------------------+
/// | model 0 codes: `width` planes of itemCount bytes, least significant first   |
/// | ...                                                                         |
/// | model M-1 codes                                                             |
/// +-----------------------------------------------------------------------------+
/// ```
///
/// A rated-item gap is the difference from the previous item index (the
/// first is the index plus one), so a user's list costs about a byte per
/// item before compression.
enum UserBlobCodec {
  static let version: UInt8 = 1

  /// The decoded content of one user blob.
  struct Content: Equatable {
    var ratedItems: [Int32]
    /// One row of `itemCount` scores per model.
    var scores: [[Float]]
  }

  /// Quantises one model's scores for one user against `base`.
  ///
  /// - Returns: the codes, each checked to reconstruct its score within
  ///   `tolerance` in the decoder's arithmetic.
  /// - Throws: `StoreError.invalidScore` for a non-finite score or one that
  ///   cannot be represented.
  static func quantise(
    scores: UnsafeBufferPointer<Float>, base: UnsafeBufferPointer<Float>, step: Float,
    tolerance: Float, model: String, user: Int
  ) throws -> [Int32] {
    var codes = [Int32](repeating: 0, count: scores.count)
    for item in 0..<scores.count {
      let score = scores[item]
      guard score.isFinite else {
        throw StoreError.invalidScore(model: model, user: user, item: item, value: score)
      }
      let exact = (Double(score) - Double(base[item])) / Double(step)
      guard abs(exact) < Double(Int32.max / 2) else {
        throw StoreError.invalidScore(model: model, user: user, item: item, value: score)
      }
      var code = Int32(exact.rounded())
      // Float rounding in the decoder may land a hair outside the bound;
      // a neighbouring code then fits.
      if abs(reconstruct(base[item], code, step) - score) > tolerance {
        code += reconstruct(base[item], code, step) < score ? 1 : -1
        guard abs(reconstruct(base[item], code, step) - score) <= tolerance else {
          throw StoreError.invalidScore(model: model, user: user, item: item, value: score)
        }
      }
      codes[item] = code
    }
    return codes
  }

  /// The decoder's arithmetic: `base + code * step` in `Float`.
  @inline(__always)
  static func reconstruct(_ base: Float, _ code: Int32, _ step: Float) -> Float {
    base + Float(code) * step
  }

  /// Lays out one user's rated items and every model's codes (uncompressed).
  static func encode(ratedItems: [Int32], codes: [[Int32]], itemCount: Int) -> [UInt8] {
    var bytes: [UInt8] = [version, UInt8(codes.count)]
    let widths = codes.map { modelCodes -> Int in
      modelCodes.allSatisfy { zigzag($0) <= 0xFFFF } ? 2 : 4
    }
    bytes += widths.map { UInt8($0) }
    appendUInt32(&bytes, UInt32(ratedItems.count))
    var previous: Int32 = -1
    for item in ratedItems {
      precondition(item > previous, "rated items must be ascending and distinct")
      appendVarint(&bytes, UInt32(item - previous))
      previous = item
    }
    for (modelCodes, width) in zip(codes, widths) {
      precondition(modelCodes.count == itemCount, "each model needs \(itemCount) codes")
      let planeStart = bytes.count
      bytes += [UInt8](repeating: 0, count: width * itemCount)
      bytes.withUnsafeMutableBufferPointer { buffer in
        for (item, code) in modelCodes.enumerated() {
          var value = zigzag(code)
          for plane in 0..<width {
            buffer[planeStart + plane * itemCount + item] = UInt8(truncatingIfNeeded: value)
            value >>= 8
          }
        }
      }
    }
    return bytes
  }

  /// Parses an uncompressed blob and reconstructs the scores.
  ///
  /// - Parameter bases: each model's base row for this user.
  /// - Throws: `StoreError.corruptBlob` when the layout does not parse.
  static func decode(
    _ bytes: [UInt8], itemCount: Int, bases: [[Float]], step: Float
  ) throws(StoreError) -> Content {
    var reader = ByteReader(bytes)
    guard reader.readByte() == version else { throw .corruptBlob("unknown blob layout version") }
    guard let modelCount = reader.readByte(), Int(modelCount) == bases.count else {
      throw .corruptBlob("model count does not match the store")
    }
    var widths: [Int] = []
    for _ in 0..<bases.count {
      guard let width = reader.readByte(), width == 2 || width == 4 else {
        throw .corruptBlob("invalid code width")
      }
      widths.append(Int(width))
    }
    guard let ratedCount = reader.readUInt32(), Int(ratedCount) <= itemCount else {
      throw .corruptBlob("invalid rated item count")
    }
    var ratedItems: [Int32] = []
    ratedItems.reserveCapacity(Int(ratedCount))
    var previous: Int64 = -1
    for _ in 0..<ratedCount {
      guard let gap = reader.readVarint(), gap > 0 else { throw .corruptBlob("invalid rated item") }
      previous += Int64(gap)
      guard previous < itemCount else { throw .corruptBlob("rated item out of range") }
      ratedItems.append(Int32(previous))
    }

    var scores: [[Float]] = []
    scores.reserveCapacity(bases.count)
    for (model, width) in widths.enumerated() {
      guard let planes = reader.take(width * itemCount) else {
        throw .corruptBlob("score planes are truncated")
      }
      var row = [Float](repeating: 0, count: itemCount)
      let base = bases[model]
      planes.withUnsafeBufferPointer { planes in
        row.withUnsafeMutableBufferPointer { row in
          for item in 0..<itemCount {
            var value: UInt32 = 0
            for plane in stride(from: width - 1, through: 0, by: -1) {
              value = value << 8 | UInt32(planes[plane * itemCount + item])
            }
            row[item] = reconstruct(base[item], unzigzag(value), step)
          }
        }
      }
      scores.append(row)
    }
    guard reader.isAtEnd else { throw .corruptBlob("unexpected bytes after the scores") }
    return Content(ratedItems: ratedItems, scores: scores)
  }

  @inline(__always)
  static func zigzag(_ value: Int32) -> UInt32 {
    UInt32(bitPattern: (value << 1) ^ (value >> 31))
  }

  @inline(__always)
  static func unzigzag(_ value: UInt32) -> Int32 {
    Int32(bitPattern: value >> 1) ^ -Int32(bitPattern: value & 1)
  }
}

func appendUInt32(_ bytes: inout [UInt8], _ value: UInt32) {
  for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
}

func appendVarint(_ bytes: inout [UInt8], _ value: UInt32) {
  var remaining = value
  while remaining >= 0x80 {
    bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
    remaining >>= 7
  }
  bytes.append(UInt8(remaining))
}

/// Sequential reads from a byte array that return nil past the end.
struct ByteReader {
  private let bytes: [UInt8]
  private var position = 0

  init(_ bytes: [UInt8]) {
    self.bytes = bytes
  }

  var isAtEnd: Bool { position == bytes.count }

  mutating func readByte() -> UInt8? {
    guard position < bytes.count else { return nil }
    defer { position += 1 }
    return bytes[position]
  }

  mutating func readUInt32() -> UInt32? {
    guard position + 4 <= bytes.count else { return nil }
    var value: UInt32 = 0
    for offset in 0..<4 { value |= UInt32(bytes[position + offset]) << (8 * offset) }
    position += 4
    return value
  }

  mutating func readVarint() -> UInt32? {
    var value: UInt32 = 0
    var shift: UInt32 = 0
    while let byte = readByte() {
      guard shift < 32 else { return nil }
      value |= UInt32(byte & 0x7F) << shift
      if byte < 0x80 { return value }
      shift += 7
    }
    return nil
  }

  mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
    guard count >= 0, position + count <= bytes.count else { return nil }
    defer { position += count }
    return bytes[position..<position + count]
  }
}
