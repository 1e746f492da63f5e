import Testing

@testable import StackRec

@Suite struct NumberParsingTests {
  static func integer(_ text: String) -> NumberParsing.IntegerResult {
    Array(text.utf8).withUnsafeBufferPointer { NumberParsing.integer($0) }
  }

  static func double(_ text: String) -> Double? {
    Array(text.utf8).withUnsafeBufferPointer { NumberParsing.double($0) }
  }

  @Test(arguments: [
    ("42", Int64(42)), (" 7 ", 7), ("-3", -3), ("+5", 5), ("007", 7), ("0", 0),
    ("9223372036854775807", Int64.max),
  ])
  func integerParsesValue(text: String, value: Int64) {
    #expect(Self.integer(text) == .value(value))
  }

  @Test(arguments: ["", "   ", "-", "+", "12a", "1.0", "1 2", "0x10", "١٢"])
  func integerRejectsNonDigits(text: String) {
    #expect(Self.integer(text) == .invalid)
  }

  @Test(arguments: ["9223372036854775808", "99999999999999999999", "-99999999999999999999"])
  func integerReportsOverflow(text: String) {
    #expect(Self.integer(text) == .overflow)
  }

  @Test(arguments: [
    ("3.5", 3.5), ("4", 4), (" 0.5 ", 0.5), ("-1", -1), ("4e0", 4), ("1E-1", 0.1),
    (".5", 0.5), ("5.", 5), ("+2.5", 2.5), ("0.30000000000000004", 0.30000000000000004),
  ])
  func doubleParsesValue(text: String, value: Double) {
    #expect(Self.double(text) == value)
  }

  @Test(arguments: ["", "  ", "abc", "1.2.3", "3,5", "-", ".", "4 5", "1e", "--1"])
  func doubleRejectsMalformedText(text: String) {
    #expect(Self.double(text) == nil)
  }

  @Test func doubleReturnsNonFiniteValues() throws {
    // The parser leaves rejecting these to the caller, which checks the rating scale.
    #expect(try #require(Self.double("nan")).isNaN)
    #expect(try #require(Self.double("inf")) == .infinity)
    #expect(try #require(Self.double("-inf")) == -.infinity)
  }

  @Test func decimalsMatchStandardLibrary() throws {
    // Decimals of 1 to 20 digits with the point anywhere: up to 15
    // significant digits take the parser's own path, longer ones strtod.
    // Swift's Double(String) rounds correctly, so the results must agree.
    var generator = SeededGenerator(seed: 2718)
    for _ in 0..<5_000 {
      let digitCount = 1 + generator.nextInt(below: 20)
      var digits = (0..<digitCount).map { _ in String(generator.nextInt(below: 10)) }
      let point = generator.nextInt(below: digitCount + 1)
      if point < digitCount { digits.insert(".", at: point) }
      let text = (generator.nextInt(below: 4) == 0 ? "-" : "") + digits.joined()
      let expected = try #require(Double(text), "\(text)")
      #expect(Self.double(text) == expected, "\(text)")
    }
  }
}
