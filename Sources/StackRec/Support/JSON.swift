/// A JSON value whose objects keep their keys in insertion order, so that
/// reports read top-down in a meaningful order and diff cleanly.
public indirect enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case integer(Int)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    lhs.serialized() == rhs.serialized()
  }

  /// The value as JSON text, indented by two spaces per level.
  ///
  /// Numbers use Swift's shortest round-trip form. A non-finite number has
  /// no JSON form and is written as `null`.
  public func serialized(indent: Int = 0) -> String {
    let pad = String(repeating: "  ", count: indent)
    let innerPad = String(repeating: "  ", count: indent + 1)
    switch self {
    case .null: return "null"
    case .bool(let value): return value ? "true" : "false"
    case .integer(let value): return String(value)
    case .number(let value):
      guard value.isFinite else { return "null" }
      if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
      return String(value)
    case .string(let value): return JSONValue.quote(value)
    case .array(let values):
      if values.isEmpty { return "[]" }
      if values.allSatisfy(\.isScalar) {
        return "[" + values.map { $0.serialized() }.joined(separator: ", ") + "]"
      }
      return "[\n" + values.map { innerPad + $0.serialized(indent: indent + 1) }
        .joined(separator: ",\n") + "\n" + pad + "]"
    case .object(let members):
      if members.isEmpty { return "{}" }
      return "{\n" + members.map { key, value in
        innerPad + JSONValue.quote(key) + ": " + value.serialized(indent: indent + 1)
      }.joined(separator: ",\n") + "\n" + pad + "}"
    }
  }

  private var isScalar: Bool {
    switch self {
    case .array, .object: return false
    default: return true
    }
  }

  /// The member `key` of an object, or nil.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.0 == key }?.1
  }

  static func quote(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          result.unicodeScalars.append(scalar)
        }
      }
    }
    return result + "\""
  }
}
