/// A command-line option: a flag such as `--quiet`, or an option that takes
/// one or more values, such as `--seed N` or `--split-files BASE META TEST`.
public struct OptionSpec: Sendable {
  public var name: String
  public var valueNames: [String]
  public var help: String

  public init(_ name: String, _ valueNames: [String] = [], help: String) {
    precondition(name.hasPrefix("--"), "option names start with --, got \(name)")
    self.name = name
    self.valueNames = valueNames
    self.help = help
  }

  public var isFlag: Bool { valueNames.isEmpty }
}

/// A mistake in the command line; the executable prints it with the usage
/// text and exits with status 64 (EX_USAGE).
public struct UsageError: Error, CustomStringConvertible, Equatable {
  public var message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}

/// The options given on a command line, checked against their specs.
public struct ParsedOptions: Sendable {
  private var values: [String: [String]] = [:]
  private var flags: Set<String> = []

  /// True when the flag `name` was given.
  public func has(_ name: String) -> Bool {
    flags.contains(name) || values[name] != nil
  }

  /// The values given for `name`, or nil when the option was not given.
  public func strings(_ name: String) -> [String]? {
    values[name]
  }

  /// The single value given for `name`.
  public func string(_ name: String) -> String? {
    values[name]?.first
  }

  /// The value of `name` as an integer in `range`.
  public func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
    guard let text = string(name) else { return nil }
    guard let value = Int(text), range.contains(value) else {
      throw UsageError(
        "invalid value '\(text)' for \(name): expected an integer from \(range.lowerBound) to \(range.upperBound)"
      )
    }
    return value
  }

  /// The value of `name` as a finite number in `range`.
  public func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
    guard let text = string(name) else { return nil }
    guard let value = Double(text), value.isFinite, range.contains(value) else {
      throw UsageError(
        "invalid value '\(text)' for \(name): expected a number from \(range.lowerBound) to \(range.upperBound)"
      )
    }
    return value
  }

  /// The value of `name`, which must be one of `choices`.
  public func choice(_ name: String, from choices: [String]) throws -> String? {
    guard let text = string(name) else { return nil }
    guard choices.contains(text) else {
      throw UsageError(
        "invalid value '\(text)' for \(name): expected one of \(choices.joined(separator: ", "))")
    }
    return text
  }

  /// Parses `arguments` (without the program name).
  ///
  /// Accepts `--name value`, `--name=value` for single-value options, and
  /// `--help` or `-h` anywhere.
  public static func parse(_ arguments: [String], specs: [OptionSpec]) throws -> ParsedOptions {
    var parsed = ParsedOptions()
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if argument == "-h" || argument == "--help" {
        parsed.flags.insert("--help")
        continue
      }
      var name = argument
      var inlineValue: String?
      if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
        name = String(argument[..<equals])
        inlineValue = String(argument[argument.index(after: equals)...])
      }
      guard let spec = specs.first(where: { $0.name == name }) else {
        if argument.hasPrefix("-") {
          let suggestion = closestOption(to: name, in: specs).map { "; did you mean \($0)?" }
          throw UsageError("unknown option '\(argument)'" + (suggestion ?? ""))
        }
        throw UsageError("unexpected argument '\(argument)'; every value follows an option")
      }
      if spec.isFlag {
        guard inlineValue == nil else { throw UsageError("\(name) takes no value") }
        parsed.flags.insert(name)
        continue
      }
      var optionValues: [String] = []
      if let inlineValue {
        guard spec.valueNames.count == 1 else {
          throw UsageError("\(name) takes \(spec.valueNames.count) values; write them after a space")
        }
        optionValues = [inlineValue]
      } else {
        for _ in spec.valueNames {
          guard index < arguments.count, !arguments[index].hasPrefix("--") else {
            throw UsageError(
              "missing value for \(name): expected \(name) \(spec.valueNames.joined(separator: " "))")
          }
          optionValues.append(arguments[index])
          index += 1
        }
      }
      if parsed.values[name] != nil { throw UsageError("\(name) is given more than once") }
      parsed.values[name] = optionValues
    }
    return parsed
  }
}

/// Formats help text: an overview, a usage line and one entry per option.
public func helpText(program: String, overview: String, usage: String, specs: [OptionSpec])
  -> String
{
  var text = "OVERVIEW: \(overview)\n\nUSAGE: \(program) \(usage)\n\nOPTIONS:\n"
  let labels = specs.map { ([$0.name] + $0.valueNames).joined(separator: " ") }
  let width = min((labels.map(\.count).max() ?? 0) + 2, 34)
  for (spec, label) in zip(specs, labels) {
    var line = "  " + label
    if label.count + 2 > width {
      line += "\n" + String(repeating: " ", count: width + 2)
    } else {
      line += String(repeating: " ", count: width - label.count)
    }
    text += line + wrap(spec.help, indent: width + 2, width: 100) + "\n"
  }
  text += "  -h, --help" + String(repeating: " ", count: max(1, width - 10)) + "Show this help.\n"
  return text
}

private func wrap(_ text: String, indent: Int, width: Int) -> String {
  var lines: [String] = []
  var current = ""
  for word in text.split(separator: " ") {
    if !current.isEmpty && indent + current.count + 1 + word.count > width {
      lines.append(current)
      current = String(word)
    } else {
      current += current.isEmpty ? String(word) : " " + word
    }
  }
  if !current.isEmpty { lines.append(current) }
  return lines.joined(separator: "\n" + String(repeating: " ", count: indent))
}

/// Returns the name of the option nearest to `name`, or nil when none is within two
/// single-character edits.
func closestOption(to name: String, in specs: [OptionSpec]) -> String? {
  let typed = Array(name.utf8)
  var best: (name: String, distance: Int)?
  for spec in specs {
    let distance = editDistance(typed, Array(spec.name.utf8))
    if distance <= 2 && distance < (best?.distance ?? Int.max) { best = (spec.name, distance) }
  }
  return best?.name
}

/// Returns the Levenshtein distance: the fewest insertions, deletions and substitutions
/// that turn `a` into `b`.
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
  guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
  // previous[j] is the distance from the first i - 1 bytes of a to the first j of b.
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
      current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
    }
    swap(&previous, &current)
  }
  return previous[b.count]
}
