import Foundation
import Testing

@testable import StackRec

@Suite struct JSONValueTests {
  @Test(arguments: [
    (JSONValue.null, "null"), (.bool(true), "true"), (.bool(false), "false"),
    (.integer(42), "42"), (.integer(-7), "-7"), (.number(0.5), "0.5"), (.number(3), "3"),
    (.number(-2.25), "-2.25"), (.number(0.1), "0.1"), (.number(1e20), "1e+20"),
    (.number(1.5e-7), "1.5e-07"), (.number(.nan), "null"), (.number(.infinity), "null"),
    (.number(-.infinity), "null"),
  ])
  func scalarSerializesAsLiteral(value: JSONValue, text: String) {
    #expect(value.serialized() == text)
  }

  @Test func stringEscapesSpecialCharacters() {
    let value = JSONValue.string("a\"b\\c\nd\re\tf\u{1}g\u{1F}h/")
    #expect(value.serialized() == #""a\"b\\c\nd\re\tf\u0001g\u001fh/""#)
  }

  @Test func stringKeepsUnicode() {
    #expect(JSONValue.string("Amélie 東京 🎬").serialized() == "\"Amélie 東京 🎬\"")
  }

  @Test func nestedValuesIndentByTwo() {
    let value = JSONValue.object([
      ("name", .string("report")),
      ("scale", .array([.number(0.5), .number(5)])),
      ("models", .array([.object([("key", .string("bias"))]), .object([])])),
      ("empty", .array([])),
      ("inner", .object([("deep", .object([("x", .integer(1))]))])),
    ])
    let expected = """
      {
        "name": "report",
        "scale": [0.5, 5],
        "models": [
          {
            "key": "bias"
          },
          {}
        ],
        "empty": [],
        "inner": {
          "deep": {
            "x": 1
          }
        }
      }
      """
    #expect(value.serialized() == expected)
  }

  @Test func objectKeepsKeyOrder() {
    let value = JSONValue.object([("b", .integer(1)), ("a", .integer(2))])
    #expect(value.serialized() == "{\n  \"b\": 1,\n  \"a\": 2\n}")
  }

  @Test func foundationParsesOutput() throws {
    let text = "tab\there, quote \" and backslash \\ and \u{7} bell"
    let value = JSONValue.object([
      ("text", .string(text)),
      ("numbers", .array([.number(0.868379), .number(-1e-9), .integer(64_534)])),
      ("flags", .array([.bool(true), .null])),
      ("nested", .object([("key with \"quotes\"", .number(1.25))])),
    ])
    let object = try JSONSerialization.jsonObject(with: Data(value.serialized().utf8))
    let parsed = try #require(object as? [String: Any])
    let numbers = try #require(parsed["numbers"] as? [Double])
    let nested = try #require(parsed["nested"] as? [String: Double])
    let flags = try #require(parsed["flags"] as? [Any])
    #expect(parsed["text"] as? String == text)
    #expect(numbers.count == 3)
    #expect(isClose(numbers[0], 0.868379, tolerance: 1e-15))
    #expect(isClose(numbers[1], -1e-9, tolerance: 1e-24))
    #expect(numbers[2] == 64_534)
    #expect(flags.first as? Bool == true)
    #expect(flags.last is NSNull)
    #expect(nested["key with \"quotes\""] == 1.25)
  }

  @Test func subscriptFindsMember() {
    let value = JSONValue.object([("a", .integer(1)), ("b", .string("x"))])
    #expect(value["b"] == .string("x"))
    #expect(value["c"] == nil)
    #expect(JSONValue.array([.integer(1)])["a"] == nil)
  }

  @Test func equalityFollowsSerialization() {
    #expect(JSONValue.number(2) == JSONValue.integer(2))
    #expect(
      JSONValue.object([("a", .integer(1)), ("b", .integer(2))])
        != JSONValue.object([("b", .integer(2)), ("a", .integer(1))]))
  }
}
