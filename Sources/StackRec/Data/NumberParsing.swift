import Glibc

/// Parsers for numbers in input files, reading straight from the file's bytes.
enum NumberParsing {
  enum IntegerResult: Equatable {
    case value(Int64)
    case invalid
    case overflow
  }

  /// Parses a decimal integer with an optional sign, ignoring surrounding
  /// spaces.
  static func integer(_ field: UnsafeBufferPointer<UInt8>) -> IntegerResult {
    var start = 0
    var end = field.count
    while start < end && field[start] == 0x20 { start += 1 }
    while end > start && field[end - 1] == 0x20 { end -= 1 }
    guard start < end else { return .invalid }
    var negative = false
    if field[start] == UInt8(ascii: "-") || field[start] == UInt8(ascii: "+") {
      negative = field[start] == UInt8(ascii: "-")
      start += 1
      guard start < end else { return .invalid }
    }
    var value: Int64 = 0
    var overflow = false
    for index in start..<end {
      let digit = field[index] &- UInt8(ascii: "0")
      guard digit < 10 else { return .invalid }
      if !overflow {
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(Int64(digit))
        overflow = o1 || o2
        value = sum
      }
    }
    if overflow { return .overflow }
    return .value(negative ? -value : value)
  }

  /// Parses a decimal number, ignoring surrounding spaces.
  ///
  /// Plain decimals such as `3.5` take a fast exact path; anything else goes
  /// through `strtod`, so `4e0` parses and `nan` or `inf` come back as
  /// non-finite values for the caller to reject.
  static func double(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
    var start = 0
    var end = field.count
    while start < end && field[start] == 0x20 { start += 1 }
    while end > start && field[end - 1] == 0x20 { end -= 1 }
    guard start < end else { return nil }
    if let value = plainDecimal(field, start, end) { return value }
    return viaStrtod(field, start, end)
  }

  /// Parses `[-]digits[.digits]` with at most 15 significant digits, where
  /// one correctly rounded division gives the exact nearest double.
  private static func plainDecimal(
    _ field: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
  ) -> Double? {
    var index = start
    var negative = false
    if field[index] == UInt8(ascii: "-") {
      negative = true
      index += 1
    }
    var mantissa: Int64 = 0
    var digits = 0
    var fractionDigits = 0
    var seenPoint = false
    var seenDigit = false
    while index < end {
      let byte = field[index]
      if byte == UInt8(ascii: ".") {
        if seenPoint { return nil }
        seenPoint = true
      } else {
        let digit = byte &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        seenDigit = true
        if mantissa != 0 || digit != 0 { digits += 1 }
        guard digits <= 15 else { return nil }
        mantissa = mantissa * 10 + Int64(digit)
        if seenPoint { fractionDigits += 1 }
      }
      index += 1
    }
    guard seenDigit, fractionDigits <= 15 else { return nil }
    var value = Double(mantissa)
    if fractionDigits > 0 { value /= powersOfTen[fractionDigits] }
    return negative ? -value : value
  }

  private static let powersOfTen: [Double] = (0...15).map { exponent in
    var value = 1.0
    for _ in 0..<exponent { value *= 10 }
    return value
  }

  private static func viaStrtod(
    _ field: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
  ) -> Double? {
    guard end - start < 64 else { return nil }
    var buffer = [CChar](repeating: 0, count: end - start + 1)
    for index in start..<end {
      guard field[index] != 0 else { return nil }
      buffer[index - start] = CChar(bitPattern: field[index])
    }
    return buffer.withUnsafeBufferPointer { pointer -> Double? in
      var parseEnd: UnsafeMutablePointer<CChar>? = nil
      let value = strtod(pointer.baseAddress!, &parseEnd)
      guard let parseEnd, parseEnd - UnsafeMutablePointer(mutating: pointer.baseAddress!) == end - start
      else { return nil }
      return value
    }
  }
}
