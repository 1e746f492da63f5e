import Foundation
import Glibc
import StackRec

/// One measured figure, with the target it is held to, if any.
struct Figure {
  var section: String
  var name: String
  var value: Double
  var unit: String
  /// The target, such as `< 3 s`, and whether the value meets it.
  var target: String?
  var met: Bool?

  var json: JSONValue {
    var members: [(String, JSONValue)] = [
      ("section", .string(section)), ("name", .string(name)), ("value", .number(value)),
      ("unit", .string(unit)),
    ]
    if let target { members.append(("target", .string(target))) }
    if let met { members.append(("met", .bool(met))) }
    return .object(members)
  }
}

/// The `stackrec-bench` program: runs every measurement, repeats each and
/// keeps the median, and prints a table and a JSON file.
public enum BenchCommand {
  static let specs: [OptionSpec] = [
    OptionSpec(
      "--data", ["DIR"],
      help: "MovieLens directory for the ml-latest-small measurements (default: "
        + "$STACKREC_DATA_DIR/ml-latest-small, else data/ml-latest-small)."),
    OptionSpec("--repeats", ["N"], help: "Runs per measurement; the median is reported (default 3)."),
    OptionSpec(
      "--quick",
      help: "One run each, small request counts, no peers and no scale runs: a smoke test."),
    OptionSpec("--no-peers", help: "Skip the Python and Redis peer measurements."),
    OptionSpec(
      "--scale", ["SIZES"],
      help: "Also run the candidate-limited pipeline on synthetic data of these sizes, such as "
        + "100k,1m,10m,25m (ratings)."),
    OptionSpec("--json", ["PATH"], help: "Where to write the figures (default: bench.json)."),
    OptionSpec("--work-dir", ["DIR"], help: "Scratch directory (default: a new one under /tmp)."),
  ]

  struct Settings {
    var dataDirectory: String
    var repeats = 3
    var quick = false
    var peers = true
    var scaleSizes: [Int] = []
    var jsonPath = "bench.json"
    var workDirectory: String?
  }

  public static func main(_ arguments: [String]) -> Int32 {
    var settings: Settings
    do {
      let options = try ParsedOptions.parse(Array(arguments.dropFirst()), specs: specs)
      if options.has("--help") {
        print(
          helpText(
            program: "stackrec-bench",
            overview: "Measure stackrec's speed and memory, and its peers' on this machine.",
            usage: "[options]", specs: specs), terminator: "")
        return 0
      }
      let shared = ProcessInfo.processInfo.environment["STACKREC_DATA_DIR"].map {
        $0 + "/ml-latest-small"
      }
      settings = Settings(
        dataDirectory: options.string("--data") ?? shared ?? "data/ml-latest-small")
      if let value = try options.integer("--repeats", in: 1...100) { settings.repeats = value }
      settings.quick = options.has("--quick")
      if settings.quick { settings.repeats = 1 }
      settings.peers = !options.has("--no-peers") && !settings.quick
      if let sizes = options.string("--scale") {
        settings.scaleSizes = try sizes.split(separator: ",").map { try parseSize(String($0)) }
      }
      if let path = options.string("--json") { settings.jsonPath = path }
      settings.workDirectory = options.string("--work-dir")
    } catch {
      printError("\(error)")
      return 64
    }

    do {
      let figures = try run(settings)
      printTable(figures)
      let json = JSONValue.object([
        ("format", .string("stackrec-bench/1")),
        ("created_at", .string(Logger.timestamp())),
        ("machine", .string(machineDescription())),
        ("repeats", .integer(settings.repeats)),
        ("figures", .array(figures.map(\.json))),
      ])
      try writeFileAtomically(settings.jsonPath, Array((json.serialized() + "\n").utf8))
      note("wrote \(settings.jsonPath)")
      return 0
    } catch {
      printError("\(error)")
      return 1
    }
  }

  static func parseSize(_ text: String) throws -> Int {
    let lowered = text.lowercased()
    let multiplier = lowered.hasSuffix("m") ? 1_000_000 : lowered.hasSuffix("k") ? 1000 : 1
    let digits = multiplier == 1 ? lowered : String(lowered.dropLast())
    guard let value = Double(digits), value > 0 else {
      throw UsageError("invalid size '\(text)' for --scale: expected a count such as 100k or 25m")
    }
    return Int(value * Double(multiplier))
  }

  static func run(_ settings: Settings) throws -> [Figure] {
    let work = settings.workDirectory ?? NSTemporaryDirectory() + "stackrec-bench-\(getpid())"
    try createDirectories(work)
    let tools = try Tools()
    var figures: [Figure] = []
    let small = SmallDatasetBench(settings: settings, tools: tools, work: work)
    figures += try small.precompute()
    figures += try small.blender()
    if settings.peers {
      figures += small.tcp()
      figures += small.pythonPeer(ourSeconds: figures.first { $0.name == "whole run" }?.value)
    }
    for size in settings.scaleSizes {
      figures += try ScaleBench(settings: settings, tools: tools, work: work).run(ratings: size)
    }
    return figures
  }

  static func printTable(_ figures: [Figure]) {
    var section = ""
    for figure in figures {
      if figure.section != section {
        section = figure.section
        print("\n\(section)")
      }
      let value = figure.value >= 100 ? String(Int(figure.value.rounded())) : formatted(figure.value)
      var line = "  " + figure.name.padding(to: 44) + (value + " " + figure.unit).padding(to: 22)
      if let target = figure.target {
        line += "target \(target)" + (figure.met == true ? "  met" : figure.met == false ? "  NOT MET" : "")
      }
      print(line)
    }
  }

  static func formatted(_ value: Double) -> String {
    String(format: value >= 10 ? "%.1f" : value >= 1 ? "%.2f" : "%.3f", value)
  }

  static func machineDescription() -> String {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
      .split(separator: "\n").first { $0.hasPrefix("model name") }?
      .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
    let memory = Double(sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE))) / 1_073_741_824
    return "\(cpu), \(cores) cores, \(String(format: "%.0f", memory)) GiB"
  }
}

extension String {
  func padding(to width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }
}

/// Writes a progress note to standard error.
func note(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The executables the benchmark drives, found beside `stackrec-bench`.
struct Tools {
  let precompute: String
  let blend: String

  init() throws {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    let directory = (me as NSString).deletingLastPathComponent
    precompute = directory + "/stackrec-precompute"
    blend = directory + "/stackrec-blend"
    for path in [precompute, blend] where !FileManager.default.isExecutableFile(atPath: path) {
      throw BenchError.failed(
        "\(path) not found; build everything first with swift build -c release")
    }
  }

  /// The full path of a program on PATH, or nil.
  static func find(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}
