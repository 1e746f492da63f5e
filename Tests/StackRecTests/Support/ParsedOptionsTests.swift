import Testing

@testable import StackRec

@Suite struct ParsedOptionsTests {
  static let specs = [
    OptionSpec("--seed", ["N"], help: "Seed."),
    OptionSpec("--rate", ["R"], help: "Rate."),
    OptionSpec("--mode", ["MODE"], help: "Mode."),
    OptionSpec("--files", ["A", "B", "C"], help: "Three files."),
    OptionSpec("--quiet", help: "Less output."),
  ]

  static func parse(_ arguments: [String]) throws -> ParsedOptions {
    try ParsedOptions.parse(arguments, specs: specs)
  }

  /// Returns the message of the `UsageError` that parsing `arguments` throws.
  static func usageError(_ arguments: [String]) throws -> String {
    try #require(throws: UsageError.self) { try parse(arguments) }.message
  }

  @Test func valueFollowsOption() throws {
    let options = try Self.parse(["--seed", "7", "--mode", "fast"])
    #expect(options.string("--seed") == "7")
    #expect(options.string("--mode") == "fast")
    #expect(options.has("--seed"))
    #expect(!options.has("--rate"))
    #expect(options.string("--rate") == nil)
  }

  @Test func inlineValueAfterEquals() throws {
    let options = try Self.parse(["--seed=7", "--mode=a=b"])
    #expect(options.string("--seed") == "7")
    #expect(options.string("--mode") == "a=b")
  }

  @Test func flagTakesNoValue() throws {
    #expect(try Self.parse(["--quiet"]).has("--quiet"))
    #expect(try Self.usageError(["--quiet=yes"]).contains("--quiet"))
  }

  @Test func multiValueOptionTakesAll() throws {
    let options = try Self.parse(["--files", "a.csv", "b.csv", "c.csv", "--quiet"])
    #expect(options.strings("--files") == ["a.csv", "b.csv", "c.csv"])
    #expect(options.has("--quiet"))
  }

  @Test func helpIsRecognisedAnywhere() throws {
    #expect(try Self.parse(["--seed", "1", "--help"]).has("--help"))
    #expect(try Self.parse(["-h"]).has("--help"))
  }

  @Test func negativeNumberIsAValue() throws {
    #expect(try Self.parse(["--seed", "-3"]).string("--seed") == "-3")
  }

  @Test func unknownOptionIsNamed() throws {
    let message = try Self.usageError(["--sead", "7"])
    #expect(message.contains("unknown option '--sead'"))
  }

  @Test func unknownOptionSuggestsClosest() throws {
    #expect(try Self.usageError(["--sead", "7"]).hasSuffix("; did you mean --seed?"))
    #expect(try Self.usageError(["--qiet"]).hasSuffix("; did you mean --quiet?"))
    // Three edits from every option: no suggestion.
    #expect(try Self.usageError(["--bogus"]) == "unknown option '--bogus'")
  }

  @Test func editDistanceCountsEdits() {
    #expect(editDistance(Array("kitten".utf8), Array("sitting".utf8)) == 3)
    #expect(editDistance(Array("".utf8), Array("abc".utf8)) == 3)
    #expect(editDistance(Array("abc".utf8), Array("".utf8)) == 3)
    #expect(editDistance(Array("--listn".utf8), Array("--listen".utf8)) == 1)
  }

  @Test func strayArgumentIsNamed() throws {
    let message = try Self.usageError(["--seed", "7", "extra"])
    #expect(message.contains("'extra'"))
  }

  @Test func missingValueIsReported() throws {
    #expect(try Self.usageError(["--seed"]).contains("missing value for --seed"))
    #expect(try Self.usageError(["--seed", "--quiet"]).contains("missing value for --seed"))
    #expect(try Self.usageError(["--files", "a", "b"]).contains("missing value for --files"))
  }

  @Test func multiValueOptionRejectsEquals() throws {
    #expect(try Self.usageError(["--files=a"]).contains("--files"))
  }

  @Test func repeatedOptionIsRejected() throws {
    let message = try Self.usageError(["--seed", "1", "--seed", "2"])
    #expect(message.contains("--seed is given more than once"))
  }

  @Test func integerChecksRange() throws {
    let options = try Self.parse(["--seed", "12"])
    #expect(try options.integer("--seed", in: 0...100) == 12)
    #expect(try options.integer("--rate", in: 0...100) == nil)
    let error = try #require(throws: UsageError.self) { try options.integer("--seed", in: 0...5) }
    #expect(error.message.contains("'12'"))
    #expect(error.message.contains("--seed"))
  }

  @Test(arguments: ["x", "1.5", "", "0x10"])
  func integerRejectsNonInteger(text: String) throws {
    let options = try Self.parse(["--seed", text])
    let error = try #require(throws: UsageError.self) {
      try options.integer("--seed", in: 0...100)
    }
    #expect(error.message.contains("'\(text)'"))
    #expect(error.message.contains("--seed"))
  }

  @Test func numberChecksRange() throws {
    let options = try Self.parse(["--rate", "0.25"])
    #expect(try options.number("--rate", in: 0...1) == 0.25)
    #expect(throws: UsageError.self) { try options.number("--rate", in: 0.5...1) }
  }

  @Test(arguments: ["nan", "inf", "-inf", "fast", ""])
  func numberRejectsNonFinite(text: String) throws {
    let options = try Self.parse(["--rate", text])
    let error = try #require(throws: UsageError.self) {
      try options.number("--rate", in: -1e9...1e9)
    }
    #expect(error.message.contains("'\(text)'"))
    #expect(error.message.contains("--rate"))
  }

  @Test func choiceMustBeListed() throws {
    let options = try Self.parse(["--mode", "slow"])
    #expect(try options.choice("--mode", from: ["slow", "fast"]) == "slow")
    let error = try #require(throws: UsageError.self) {
      try options.choice("--mode", from: ["fast"])
    }
    #expect(error.message.contains("'slow'"))
    #expect(error.message.contains("--mode"))
  }

  @Test func helpTextListsEveryOption() {
    let text = helpText(
      program: "tool", overview: "Does things.", usage: "[options]", specs: Self.specs)
    #expect(text.hasPrefix("OVERVIEW: Does things.\n\nUSAGE: tool [options]\n\nOPTIONS:\n"))
    for label in ["--seed N", "--rate R", "--mode MODE", "--files A B C", "--quiet", "-h, --help"] {
      #expect(text.contains("  \(label) "), "\(label)")
    }
  }
}
