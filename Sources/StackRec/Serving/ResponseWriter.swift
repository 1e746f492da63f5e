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
    // withUTF8 copies the contiguous bytes at once; appending the UTF8View goes through
    // the generic sequence path, a few hundred instructions even for "\r\n".
    var text = text
    text.withUTF8 { bytes.append(contentsOf: $0) }
  }

  @inline(__always)
  mutating func appendCRLF() {
    bytes.append(0x0D)
    bytes.append(0x0A)
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

  /// The digits of a decimal as `append(decimal:decimals:)` writes it.
  struct DecimalParts {
    /// False for a value that prints as `nan`.
    var isFinite: Bool
    var isNegative: Bool
    /// The value times 10^decimals, rounded, without its sign.
    var scaled: Int
    /// 10^decimals.
    var scale: Int
    var decimals: Int

    init(_ value: Double, decimals: Int) {
      isFinite = value.isFinite && abs(value) < 1e9
      scale = 1
      for _ in 0..<decimals { scale *= 10 }
      scaled = isFinite ? Int((abs(value) * Double(scale)).rounded()) : 0
      isNegative = isFinite && value < 0 && scaled != 0
      self.decimals = decimals
    }

    /// The number of bytes the decimal takes, such as 6 for `3.8123`.
    var count: Int {
      guard isFinite else { return 3 }
      var digits = 1
      var whole = scaled / scale
      while whole >= 10 {
        whole /= 10
        digits += 1
      }
      return (isNegative ? 1 : 0) + digits + (decimals > 0 ? decimals + 1 : 0)
    }
  }

  /// Appends `value` rounded to `decimals` places (at most 9), such as
  /// `3.8123`; non-finite values, which the store never holds, print as `nan`.
  mutating func append(decimal value: Double, decimals: Int = 4) {
    append(DecimalParts(value, decimals: decimals))
  }

  mutating func append(_ parts: DecimalParts) {
    guard parts.isFinite else {
      append("nan")
      return
    }
    if parts.isNegative { bytes.append(UInt8(ascii: "-")) }
    append(integer: parts.scaled / parts.scale)
    guard parts.decimals > 0 else { return }
    bytes.append(UInt8(ascii: "."))
    var fraction = parts.scaled % parts.scale
    var divisor = parts.scale / 10
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
