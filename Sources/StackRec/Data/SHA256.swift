// Temporary stand-in until the full implementation lands.
public struct SHA256: Sendable {
  private var data: [UInt8] = []
  public init() {}
  public mutating func update(_ bytes: [UInt8]) { data += bytes }
  public func finalize() -> [UInt8] {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return (0..<32).map { UInt8(truncatingIfNeeded: h >> (UInt64($0 % 8) * 8)) }
  }
  public static func hash(_ bytes: [UInt8]) -> [UInt8] { var s = SHA256(); s.update(bytes); return s.finalize() }
}
public func hexString(_ bytes: [UInt8]) -> String {
  let digits = Array("0123456789abcdef")
  var s = ""
  for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
  return s
}
