/// A problem with an input file, reported with the file, the line and the
/// offending value so that the user can fix it.
public enum DataError: Error, CustomStringConvertible, Equatable {
  case fileNotFound(path: String)
  case unreadableFile(path: String, reason: String)
  case emptyFile(path: String)
  case missingColumn(path: String, column: String, header: String)
  case duplicateColumn(path: String, column: String)
  case wrongFieldCount(path: String, line: Int, expected: Int, found: Int)
  case invalidNumber(path: String, line: Int, column: String, value: String)
  case idOutOfRange(path: String, line: Int, column: String, value: String)
  case ratingOutOfRange(path: String, line: Int, value: String, scale: ClosedRange<Float>)
  case invalidText(path: String, line: Int, reason: String)
  case unterminatedQuote(path: String, line: Int)
  case noRatings(path: String)
  case unknownFormat(directory: String, reason: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path):
      return "\(path): file not found; check the path, or pass --data DIR with a MovieLens directory"
    case .unreadableFile(let path, let reason):
      return "\(path): cannot read the file: \(reason)"
    case .emptyFile(let path):
      return "\(path): the file is empty; expected a header line and at least one row"
    case .missingColumn(let path, let column, let header):
      return "\(path): line 1: missing column '\(column)' in header '\(excerpt(header))'"
    case .duplicateColumn(let path, let column):
      return "\(path): line 1: column '\(column)' appears more than once in the header"
    case .wrongFieldCount(let path, let line, let expected, let found):
      return "\(path): line \(line): expected \(expected) fields, found \(found)"
    case .invalidNumber(let path, let line, let column, let value):
      return "\(path): line \(line): invalid number '\(excerpt(value))' in column '\(column)'"
    case .idOutOfRange(let path, let line, let column, let value):
      return
        "\(path): line \(line): id '\(excerpt(value))' in column '\(column)' is out of range; "
        + "ids must be integers from 0 to \(Int32.max)"
    case .ratingOutOfRange(let path, let line, let value, let scale):
      return
        "\(path): line \(line): rating '\(excerpt(value))' is outside the rating scale "
        + "\(scale.lowerBound)-\(scale.upperBound)"
    case .invalidText(let path, let line, let reason):
      return "\(path): line \(line): \(reason)"
    case .unterminatedQuote(let path, let line):
      return "\(path): line \(line): a quoted field is not closed before the end of the file"
    case .noRatings(let path):
      return "\(path): the file has a header but no rating rows"
    case .unknownFormat(let directory, let reason):
      return "\(directory): not a MovieLens directory: \(reason)"
    }
  }
}

/// Cuts user-supplied text to a short, printable, single-line excerpt.
func excerpt(_ text: String, limit: Int = 64) -> String {
  var result = ""
  for scalar in text.unicodeScalars {
    if result.unicodeScalars.count >= limit {
      result += "..."
      break
    }
    if scalar.value < 0x20 || scalar.value == 0x7F {
      result += "\\x" + String(scalar.value, radix: 16, uppercase: true)
    } else {
      result.unicodeScalars.append(scalar)
    }
  }
  return result
}
