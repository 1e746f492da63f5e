/// Splits delimited text into records of fields.
///
/// In CSV mode it follows RFC 4180: a field that starts with `"` runs to the
/// next lone `"`, may contain separators and line breaks, and spells a quote
/// as `""`. It also accepts what real files contain:
///
/// - a UTF-8 byte order mark at the start, which is skipped;
/// - lines ending in `\n` or `\r\n`, and a last line with no line break;
/// - empty lines, which are skipped and counted in `skippedEmptyLines`.
///
/// Other modes split on a fixed separator with no quoting: `\t` for
/// MovieLens 100k's `u.data`, `|` for `u.item`, and `::` for the 1M and 10M
/// `.dat` files.
///
/// The scanner works on borrowed bytes and keeps field positions only, so a
/// caller reads numbers straight from the buffer without building strings.
struct RecordScanner {
  /// A field's position in the buffer.
  struct Field {
    var start: Int
    var end: Int
    /// True when the field was quoted and contains `""`, so its bytes must be
    /// unescaped before use.
    var hasEscapedQuote: Bool
  }

  let bytes: UnsafeBufferPointer<UInt8>
  let path: String
  let separator: [UInt8]
  let quoting: Bool

  private var position: Int
  private var nextLine = 1

  /// The fields of the current record.
  private(set) var fields: [Field] = []
  /// The line on which the current record starts (1-based).
  private(set) var line = 0
  /// How many empty lines were skipped so far.
  private(set) var skippedEmptyLines = 0

  init(bytes: UnsafeBufferPointer<UInt8>, path: String, separator: String = ",") {
    self.bytes = bytes
    self.path = path
    self.separator = Array(separator.utf8)
    self.quoting = separator == ","
    let hasBOM = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
    self.position = hasBOM ? 3 : 0
    fields.reserveCapacity(8)
  }

  /// Moves to the next non-empty record.
  ///
  /// - Returns: false at the end of the input.
  /// - Throws: `DataError.unterminatedQuote` or `DataError.invalidText` for
  ///   malformed quoting.
  mutating func next() throws -> Bool {
    fields.removeAll(keepingCapacity: true)
    while position < bytes.count {
      let byte = bytes[position]
      if byte == 0x0A {
        skippedEmptyLines += 1
        position += 1
        nextLine += 1
      } else if byte == 0x0D && position + 1 < bytes.count && bytes[position + 1] == 0x0A {
        skippedEmptyLines += 1
        position += 2
        nextLine += 1
      } else {
        break
      }
    }
    guard position < bytes.count else { return false }
    line = nextLine
    while true {
      let ended = try scanField()
      if ended { return true }
    }
  }

  /// Scans one field and the separator or line break after it.
  ///
  /// - Returns: true when the field ended its record.
  private mutating func scanField() throws -> Bool {
    if quoting && position < bytes.count && bytes[position] == UInt8(ascii: "\"") {
      return try scanQuotedField()
    }
    let start = position
    let first = separator[0]
    let count = bytes.count
    while position < count {
      let byte = bytes[position]
      if byte == first && matchesSeparator(at: position) {
        fields.append(Field(start: start, end: position, hasEscapedQuote: false))
        position += separator.count
        return false
      }
      if byte == 0x0A {
        let end = position > start && bytes[position - 1] == 0x0D ? position - 1 : position
        fields.append(Field(start: start, end: end, hasEscapedQuote: false))
        position += 1
        nextLine += 1
        return true
      }
      position += 1
    }
    let end = position > start && bytes[position - 1] == 0x0D ? position - 1 : position
    fields.append(Field(start: start, end: end, hasEscapedQuote: false))
    return true
  }

  private mutating func scanQuotedField() throws -> Bool {
    let openingLine = nextLine
    position += 1
    let start = position
    var hasEscapedQuote = false
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        if position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "\"") {
          hasEscapedQuote = true
          position += 2
          continue
        }
        fields.append(Field(start: start, end: position, hasEscapedQuote: hasEscapedQuote))
        position += 1
        return try scanAfterClosingQuote()
      }
      if byte == 0x0A { nextLine += 1 }
      position += 1
    }
    throw DataError.unterminatedQuote(path: path, line: openingLine)
  }

  private mutating func scanAfterClosingQuote() throws -> Bool {
    if position >= bytes.count { return true }
    if matchesSeparator(at: position) {
      position += separator.count
      return false
    }
    if bytes[position] == 0x0A {
      position += 1
      nextLine += 1
      return true
    }
    if bytes[position] == 0x0D && position + 1 < bytes.count && bytes[position + 1] == 0x0A {
      position += 2
      nextLine += 1
      return true
    }
    if bytes[position] == 0x0D && position + 1 == bytes.count {
      position += 1
      return true
    }
    throw DataError.invalidText(
      path: path, line: nextLine,
      reason: "unexpected character after a closing quote; a quote inside a quoted field is written as \"\"")
  }

  private func matchesSeparator(at index: Int) -> Bool {
    if separator.count == 1 { return bytes[index] == separator[0] }
    guard index + separator.count <= bytes.count else { return false }
    for offset in 0..<separator.count where bytes[index + offset] != separator[offset] {
      return false
    }
    return true
  }

  // MARK: - Reading fields

  /// The raw bytes of field `index`, without unescaping.
  func rawBytes(_ index: Int) -> UnsafeBufferPointer<UInt8> {
    let field = fields[index]
    return UnsafeBufferPointer(rebasing: bytes[field.start..<field.end])
  }

  /// The bytes of field `index` with `""` turned back into `"`.
  func unescapedBytes(_ index: Int) -> [UInt8] {
    let field = fields[index]
    var result: [UInt8] = []
    result.reserveCapacity(field.end - field.start)
    var cursor = field.start
    while cursor < field.end {
      result.append(bytes[cursor])
      if field.hasEscapedQuote && bytes[cursor] == UInt8(ascii: "\"") { cursor += 1 }
      cursor += 1
    }
    return result
  }

  /// Field `index` as text for messages, with invalid UTF-8 repaired.
  func text(_ index: Int) -> String {
    String(decoding: unescapedBytes(index), as: UTF8.self)
  }

  /// The current record's text for error messages, cut to a short excerpt.
  func recordText() -> String {
    guard let first = fields.first, let last = fields.last else { return "" }
    let end = min(last.end, first.start + 200)
    return String(decoding: bytes[first.start..<end], as: UTF8.self)
  }
}
