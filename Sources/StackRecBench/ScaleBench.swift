import Foundation
import StackRec

/// The candidate-limited pipeline on synthetic data of a given size: the
/// precompute's time, memory and stages, and the blender's start-up and
/// memory on the resulting store.
struct ScaleBench {
  let settings: BenchCommand.Settings
  let tools: Tools
  let work: String

  static let candidates = 1000

  func run(ratings: Int) throws -> [Figure] {
    let label = ratings >= 1_000_000 ? "\(ratings / 1_000_000)M" : "\(ratings / 1000)k"
    let section = "scale: \(label) synthetic ratings, --candidates \(Self.candidates)"
    let directory = work + "/synthetic-\(label)"
    let data = SyntheticRatings.shaped(ratings: ratings)
    if !FileManager.default.fileExists(atPath: directory + "/ratings.csv") {
      note("writing \(label) synthetic ratings to \(directory)")
      try data.write(to: directory)
    }

    let store = directory + "/feature-store.sqlite"
    var walls: [Double] = []
    var peaks: [Double] = []
    var report: [String: Any] = [:]
    for run in 1...settings.repeats {
      note("scale \(label): precompute run \(run) of \(settings.repeats)")
      let result = try ChildProcess.run(
        tools.precompute,
        ["--data", directory, "--candidates", String(Self.candidates), "--out", store,
         "--report-dir", directory, "--quiet"],
        error: directory + "/precompute.log")
      guard result.status == 0 else {
        throw BenchError.failed("stackrec-precompute failed; see \(directory)/precompute.log")
      }
      walls.append(result.seconds)
      peaks.append(result.peakMiB)
      report = try readJSON(directory + "/report.json")
    }
    let isFull = ratings >= 25_000_000
    var figures = [
      Figure(section: section, name: "users x items", value: Double(data.users * data.items), unit: "pairs"),
      Figure(
        section: section, name: "whole offline run", value: median(walls), unit: "s",
        target: isFull ? "< 900 s" : nil, met: isFull ? median(walls) < 900 : nil),
      Figure(
        section: section, name: "peak resident memory", value: median(peaks) / 1024, unit: "GiB",
        target: isFull ? "< 12 GiB" : nil, met: isFull ? median(peaks) < 12 * 1024 : nil),
    ]
    for (stage, seconds) in ((report["timings_seconds"] as? [String: Double]) ?? [:]).sorted(by: { $0.key < $1.key })
    where stage != "total" {
      figures.append(Figure(section: section, name: "stage " + stage, value: seconds, unit: "s"))
    }
    let storeSection = (report["store"] as? [String: Any]) ?? [:]
    for key in ["fit_seconds", "score_seconds", "encode_seconds", "write_seconds"] {
      if let value = storeSection[key] as? Double {
        figures.append(
          Figure(section: section, name: "store " + key.replacingOccurrences(of: "_seconds", with: ""),
            value: value, unit: "s"))
      }
    }
    if let bytes = storeSection["bytes"] as? Int {
      figures.append(
        Figure(section: section, name: "store size", value: Double(bytes) / 1_048_576, unit: "MiB"))
    }

    // The blender: start-up, then memory after serving random requests.
    var startups: [Double] = []
    var residents: [Double] = []
    for _ in 1...settings.repeats {
      let blender = try BlenderProcess(tools: tools, store: store, work: directory)
      startups.append(blender.startupSeconds)
      blender.stop()
    }
    let requests = directory + "/requests.txt"
    var generator = SeededGenerator(seed: 11)
    var text = ""
    for _ in 0..<100_000 {
      text += "SCORE \(1 + generator.nextInt(below: data.users)) \(1 + generator.nextInt(below: data.items))\n"
    }
    try text.write(toFile: requests, atomically: true, encoding: .utf8)
    for _ in 1...settings.repeats {
      let result = try ChildProcess.run(
        tools.blend, ["--store", store, "--quiet"], input: requests, error: directory + "/blend.log")
      residents.append(result.peakMiB)
    }
    figures += [
      Figure(
        section: section, name: "blender start-up", value: median(startups), unit: "s",
        target: isFull ? "< 2 s" : nil, met: isFull ? median(startups) < 2 : nil),
      Figure(
        section: section, name: "blender peak memory after 100k requests", value: median(residents),
        unit: "MiB", target: isFull ? "< 2048 MiB" : nil, met: isFull ? median(residents) < 2048 : nil),
    ]
    return figures
  }
}
