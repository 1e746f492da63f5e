/// Appends protocol replies to a byte buffer without building strings on
/// the hot path.
struct ResponseWriter {
  var bytes: [UInt8]

  init(capacity: Int = 256) {
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  @inline(__always)
  mutating func append(_ text: StaticString) {
    text.withUTF8Buffer { bytes.append(contentsOf: $0) }
  }

  mutating func append(_ text: String) {
    bytes.append(contentsOf: text.utf8)
  }

  @inline(__always)
  mutating func append(byte: UInt8) {
    bytes.append(byte)
  }

  /// Appends a non-negative or negative integer in decimal.
  mutating func append(integer value: Int) {
    if value < 0 {
      bytes.append(UInt8(ascii: "-"))
      append(integer: -value)
      return
    }
    if value < 10 {
      bytes.append(UInt8(ascii: "0") + UInt8(value))
      return
    }
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
      (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var remaining = value
    withUnsafeMutableBytes(of: &digits) { buffer in
      while remaining > 0 {
        buffer[count] = UInt8(ascii: "0") + UInt8(remaining % 10)
        remaining /= 10
        count += 1
      }
      for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
    }
  }

  /// Appends `value` rounded to `decimals` places (at most 9), such as
  /// `3.8123`; non-finite values, which the store never holds, print as `nan`.
  mutating func append(decimal value: Double, decimals: Int = 4) {
    guard value.isFinite, abs(value) < 1e9 else {
      append("nan")
      return
    }
    var scale = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((abs(value) * Double(scale)).rounded())
    if value < 0 && scaled != 0 { bytes.append(UInt8(ascii: "-")) }
    append(integer: scaled / scale)
    guard decimals > 0 else { return }
    bytes.append(UInt8(ascii: "."))
    var fraction = scaled % scale
    var divisor = scale / 10
    while divisor > 0 {
      bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor))
      fraction %= divisor
      divisor /= 10
    }
  }

  /// Appends a reply that the caller composed as text, making sure it is one
  /// line: CR, LF and other control bytes become spaces.
  mutating func appendLine(sanitising text: String) {
    for byte in text.utf8 {
      bytes.append(byte < 0x20 || byte == 0x7F ? UInt8(ascii: " ") : byte)
    }
    bytes.append(0x0A)
  }
}
