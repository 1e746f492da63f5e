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
///
/// A candidate-limited store (layout version 2) keeps scores for a subset
/// of items only: after the rated items comes a u32 count and the
/// candidate items as LEB128 gaps, and each model's planes hold one code per
/// candidate instead of one per item.
enum UserBlobCodec {
  /// The layout with a score for every item.
  static let version: UInt8 = 1
  /// The layout with scores for a list of candidate items.
  static let candidateVersion: UInt8 = 2

  /// The decoded content of one user blob.
  struct Content: Equatable {
    var ratedItems: [Int32]
    /// The items the scores are for, ascending; nil when every item has one.
    var candidates: [Int32]?
    /// One row of scores per model: for every item, or for each candidate.
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
    encode(ratedItems: ratedItems, candidates: nil, codes: codes, itemCount: itemCount)
  }

  /// Lays out one user's rated items, the candidate items when the scores
  /// cover only those, and every model's codes (uncompressed).
  static func encode(ratedItems: [Int32], candidates: [Int32]?, codes: [[Int32]], itemCount: Int)
    -> [UInt8]
  {
    let count = candidates?.count ?? itemCount
    var bytes: [UInt8] = [candidates == nil ? version : candidateVersion, UInt8(codes.count)]
    let widths = codes.map { modelCodes -> Int in
      modelCodes.allSatisfy { zigzag($0) <= 0xFFFF } ? 2 : 4
    }
    bytes += widths.map { UInt8($0) }
    appendItems(&bytes, ratedItems)
    if let candidates { appendItems(&bytes, candidates) }
    for (modelCodes, width) in zip(codes, widths) {
      precondition(modelCodes.count == count, "each model needs \(count) codes")
      let planeStart = bytes.count
      bytes += [UInt8](repeating: 0, count: width * count)
      bytes.withUnsafeMutableBufferPointer { buffer in
        for (item, code) in modelCodes.enumerated() {
          var value = zigzag(code)
          for plane in 0..<width {
            buffer[planeStart + plane * count + item] = UInt8(truncatingIfNeeded: value)
            value >>= 8
          }
        }
      }
    }
    return bytes
  }

  /// Appends a u32 count and the ascending items as LEB128 gaps.
  private static func appendItems(_ bytes: inout [UInt8], _ items: [Int32]) {
    appendUInt32(&bytes, UInt32(items.count))
    var previous: Int32 = -1
    for item in items {
      precondition(item > previous, "items must be ascending and distinct")
      appendVarint(&bytes, UInt32(item - previous))
      previous = item
    }
  }

  /// Reads a list written by `appendItems`.
  private static func readItems(_ reader: inout ByteReader, itemCount: Int, what: String)
    throws(StoreError) -> [Int32]
  {
    guard let count = reader.readUInt32(), Int(count) <= itemCount else {
      throw .corruptBlob("invalid \(what) count")
    }
    var items: [Int32] = []
    items.reserveCapacity(Int(count))
    var previous: Int64 = -1
    for _ in 0..<count {
      guard let gap = reader.readVarint(), gap > 0 else { throw .corruptBlob("invalid \(what)") }
      previous += Int64(gap)
      guard previous < itemCount else { throw .corruptBlob("\(what) out of range") }
      items.append(Int32(previous))
    }
    return items
  }

  /// Parses an uncompressed dense blob and reconstructs the scores.
  ///
  /// - Parameter bases: each model's base row for this user.
  /// - Throws: `StoreError.corruptBlob` when the layout does not parse.
  static func decode(
    _ bytes: [UInt8], itemCount: Int, bases: [[Float]], step: Float
  ) throws(StoreError) -> Content {
    try decode(bytes, itemCount: itemCount, modelCount: bases.count, step: step) { model, _ in
      bases[model]
    }
  }

  /// Parses an uncompressed blob of either layout and reconstructs the
  /// scores.
  ///
  /// - Parameter base: returns model m's base scores for the candidate items
  ///   (or for every item when the candidates are nil).
  /// - Throws: `StoreError.corruptBlob` when the layout does not parse.
  static func decode(
    _ bytes: [UInt8], itemCount: Int, modelCount: Int, step: Float,
    base: (_ model: Int, _ candidates: [Int32]?) -> [Float]
  ) throws(StoreError) -> Content {
    var reader = ByteReader(bytes)
    let layout = reader.readByte()
    guard layout == version || layout == candidateVersion else {
      throw .corruptBlob("unknown blob layout version")
    }
    guard let models = reader.readByte(), Int(models) == modelCount else {
      throw .corruptBlob("model count does not match the store")
    }
    var widths: [Int] = []
    for _ in 0..<modelCount {
      guard let width = reader.readByte(), width == 2 || width == 4 else {
        throw .corruptBlob("invalid code width")
      }
      widths.append(Int(width))
    }
    let ratedItems = try readItems(&reader, itemCount: itemCount, what: "rated item")
    let candidates =
      layout == candidateVersion
      ? try readItems(&reader, itemCount: itemCount, what: "candidate item") : nil
    let count = candidates?.count ?? itemCount

    var scores: [[Float]] = []
    scores.reserveCapacity(modelCount)
    for (model, width) in widths.enumerated() {
      guard let planes = reader.take(width * count) else {
        throw .corruptBlob("score planes are truncated")
      }
      let baseRow = base(model, candidates)
      guard baseRow.count == count else { throw .corruptBlob("base row has the wrong length") }
      var row = [Float](repeating: 0, count: count)
      planes.withUnsafeBufferPointer { planes in
        row.withUnsafeMutableBufferPointer { row in
          for item in 0..<count {
            var value: UInt32 = 0
            for plane in stride(from: width - 1, through: 0, by: -1) {
              value = value << 8 | UInt32(planes[plane * count + item])
            }
            row[item] = reconstruct(baseRow[item], unzigzag(value), step)
          }
        }
      }
      scores.append(row)
    }
    guard reader.isAtEnd else { throw .corruptBlob("unexpected bytes after the scores") }
    return Content(ratedItems: ratedItems, candidates: candidates, scores: scores)
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
