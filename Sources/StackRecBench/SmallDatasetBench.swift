import Foundation
import Glibc
import StackRec

/// Measurements on ml-latest-small with the reference configuration.
struct SmallDatasetBench {
  let settings: BenchCommand.Settings
  let tools: Tools
  let work: String

  var store: String { work + "/feature-store.sqlite" }

  // MARK: - Precompute

  /// The whole offline run, per stage, with its peak memory and store size.
  func precompute() throws -> [Figure] {
    var walls: [Double] = []
    var peaks: [Double] = []
    var stages: [String: [Double]] = [:]
    var stageOrder: [String] = []
    var storeSection: [String: Any] = [:]
    for run in 1...settings.repeats {
      note("precompute run \(run) of \(settings.repeats)")
      let result = try ChildProcess.run(
        tools.precompute,
        ["--data", settings.dataDirectory, "--out", store, "--report-dir", work, "--quiet"],
        error: work + "/precompute.log")
      guard result.status == 0 else {
        throw BenchError.failed("stackrec-precompute failed; see \(work)/precompute.log")
      }
      walls.append(result.seconds)
      peaks.append(result.peakMiB)
      let report = try readJSON(work + "/report.json")
      for (stage, seconds) in (report["timings_seconds"] as? [String: Double]) ?? [:] {
        if stages[stage] == nil { stageOrder.append(stage) }
        stages[stage, default: []].append(seconds)
      }
      storeSection = (report["store"] as? [String: Any]) ?? [:]
    }
    let section = "precompute (ml-latest-small, reference configuration)"
    var figures = [
      Figure(
        section: section, name: "whole run", value: median(walls), unit: "s", target: "< 3 s",
        met: median(walls) < 3),
      Figure(
        section: section, name: "peak resident memory", value: median(peaks), unit: "MiB",
        target: "< 250 MiB", met: median(peaks) < 250),
    ]
    let order = ["load", "split", "index_training", "fit_base_models", "predict_meta_train",
      "fit_meta_models", "predict_test", "ranking_metrics"]
    for stage in order + stageOrder.filter({ !order.contains($0) && $0 != "total" }) {
      guard let values = stages[stage] else { continue }
      figures.append(Figure(section: section, name: "stage " + stage, value: median(values), unit: "s"))
    }
    for key in ["fit_seconds", "score_seconds", "encode_seconds", "write_seconds"] {
      if let value = storeSection[key] as? Double {
        figures.append(
          Figure(section: section, name: "store " + key.replacingOccurrences(of: "_seconds", with: ""),
            value: value, unit: "s"))
      }
    }
    if let bytes = storeSection["bytes"] as? Int, let ratio = storeSection["ratio_to_raw"] as? Double {
      figures.append(
        Figure(section: section, name: "store size", value: Double(bytes) / 1_048_576, unit: "MiB"))
      figures.append(
        Figure(section: section, name: "store size / raw float32 scores", value: ratio * 100,
          unit: "%", target: "<= 20 %", met: ratio <= 0.2))
    }
    return figures
  }

  // MARK: - Blender

  /// Start-up, memory, decode cost and standard-input throughput.
  func blender() throws -> [Figure] {
    let section = "blender (ml-latest-small store)"
    var startups: [Double] = []
    var residents: [Double] = []
    for _ in 1...settings.repeats {
      let probe = try BlenderProcess(tools: tools, store: store, work: work)
      startups.append(probe.startupSeconds)
      residents.append(ChildProcess.residentMiB(probe.pid))
      probe.stop()
    }

    // Decode cost, measured in this process through the library.
    var decodes: [Double] = []
    var userCount = 1
    for _ in 1...settings.repeats {
      let snapshot = try FeatureStoreReader.load(path: store)
      decodes.append(snapshot.loadSeconds)
      userCount = snapshot.userCount
    }

    // Standard input: an empty run gives the load time to subtract.
    let scoreCount = settings.quick ? 200_000 : 3_000_000
    let recommendCount = settings.quick ? 5_000 : 100_000
    let snapshot = try FeatureStoreReader.load(path: store)
    let scoreFile = work + "/score-requests.txt"
    let recommendFile = work + "/recommend-requests.txt"
    try writeRequests(scoreFile, count: scoreCount, snapshot: snapshot) { user, item in
      "SCORE \(user) \(item)\n"
    }
    try writeRequests(recommendFile, count: recommendCount, snapshot: snapshot) { user, _ in
      "RECOMMEND \(user) 10\n"
    }
    var empties: [Double] = []
    var scores: [Double] = []
    var recommends: [Double] = []
    for _ in 1...settings.repeats {
      empties.append(try stdinRun("/dev/null").seconds)
      scores.append(try stdinRun(scoreFile).seconds)
      recommends.append(try stdinRun(recommendFile).seconds)
    }
    let load = median(empties)
    let scoreRate = Double(scoreCount) / max(median(scores) - load, 1e-9)
    let recommendRate = Double(recommendCount) / max(median(recommends) - load, 1e-9)
    return [
      Figure(
        section: section, name: "start-up to serving (TCP)", value: median(startups), unit: "s",
        target: "< 0.5 s", met: median(startups) < 0.5),
      Figure(
        section: section, name: "resident memory after start-up", value: median(residents),
        unit: "MiB", target: "< 150 MiB", met: median(residents) < 150),
      Figure(
        section: section, name: "store decode per user", value: median(decodes) / Double(userCount) * 1e6,
        unit: "us"),
      Figure(
        section: section, name: "stdin SCORE throughput", value: scoreRate, unit: "requests/s",
        target: "> 1,000,000/s", met: scoreRate > 1_000_000),
      Figure(
        section: section, name: "stdin RECOMMEND k=10 throughput", value: recommendRate,
        unit: "requests/s"),
      Figure(
        section: section, name: "stdin RECOMMEND k=10 per core", value: recommendRate,
        unit: "requests/s", target: "> 20,000/s", met: recommendRate > 20_000),
    ]
  }

  private func stdinRun(_ input: String) throws -> ChildRun {
    let result = try ChildProcess.run(
      tools.blend, ["--store", store, "--quiet"], input: input, error: work + "/blend-stdin.log")
    guard result.status == 0 else {
      throw BenchError.failed("stackrec-blend failed on \(input); see \(work)/blend-stdin.log")
    }
    return result
  }

  /// Writes `count` request lines over random stored users and items.
  private func writeRequests(
    _ path: String, count: Int, snapshot: StoreSnapshot, line: (Int32, Int32) -> String
  ) throws {
    var generator = SeededGenerator(seed: 7)
    var text = ""
    text.reserveCapacity(count * 16)
    for _ in 0..<count {
      let user = snapshot.users.ids[generator.nextInt(below: snapshot.userCount)]
      let item = snapshot.items.ids[generator.nextInt(below: snapshot.itemCount)]
      text += line(user, item)
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  // MARK: - Peers

  /// TCP throughput and latency with redis-benchmark, against the blender
  /// and against redis-server in the same run.
  func tcp() -> [Figure] {
    guard let benchmark = Tools.find("redis-benchmark"), let server = Tools.find("redis-server")
    else {
      note("redis-benchmark or redis-server not found; skipping the TCP comparison")
      return []
    }
    let section = "TCP, 50 connections, redis-benchmark (blender SCORE vs Redis GET)"
    var figures: [Figure] = []
    do {
      // One event loop, as Redis serves from one thread: on a small machine the client
      // needs a core of its own, and a second loop would only compete with it.
      let blender = try BlenderProcess(
        tools: tools, store: store, work: work, extraArguments: ["--threads", "1"])
      defer { blender.stop() }
      let redis = try RedisServer(path: server, work: work)
      defer { redis.stop() }
      let requests = 200_000
      for pipeline in [1, 16] {
        var ours: [RedisBenchmarkResult] = []
        var theirs: [RedisBenchmarkResult] = []
        for _ in 1...settings.repeats {
          ours.append(
            try RedisBenchmarkResult.run(
              benchmark, port: blender.port, requests: requests, pipeline: pipeline,
              command: ["-r", "610", "SCORE", "__rand_int__", "31"]))
          theirs.append(
            try RedisBenchmarkResult.run(
              benchmark, port: redis.port, requests: requests, pipeline: pipeline,
              command: ["-r", "610", "GET", "key:__rand_int__"]))
        }
        let ourRate = median(ours.map(\.requestsPerSecond))
        let theirRate = median(theirs.map(\.requestsPerSecond))
        let label = pipeline == 1 ? "unpipelined" : "\(pipeline)-deep pipeline"
        figures += [
          Figure(section: section, name: "blender SCORE, \(label)", value: ourRate, unit: "requests/s"),
          Figure(section: section, name: "Redis GET, \(label)", value: theirRate, unit: "requests/s"),
          Figure(
            section: section, name: "blender / Redis, \(label)", value: ourRate / theirRate,
            unit: "x", target: ">= 1", met: ourRate >= theirRate),
          Figure(
            section: section, name: "blender p50 latency, \(label)",
            value: median(ours.map(\.p50Milliseconds)), unit: "ms"),
          Figure(
            section: section, name: "blender p99 latency, \(label)",
            value: median(ours.map(\.p99Milliseconds)), unit: "ms"),
          Figure(
            section: section, name: "Redis p99 latency, \(label)",
            value: median(theirs.map(\.p99Milliseconds)), unit: "ms"),
        ]
      }
      // RECOMMEND is bound by the server's computation, so it gets an event loop per core.
      let recommender = try BlenderProcess(tools: tools, store: store, work: work)
      defer { recommender.stop() }
      var recommends: [RedisBenchmarkResult] = []
      for _ in 1...settings.repeats {
        recommends.append(
          try RedisBenchmarkResult.run(
            benchmark, port: recommender.port, requests: requests / 4, pipeline: 1,
            command: ["-r", "610", "RECOMMEND", "__rand_int__", "10"]))
      }
      figures += [
        Figure(
          section: section, name: "blender RECOMMEND k=10, unpipelined",
          value: median(recommends.map(\.requestsPerSecond)), unit: "requests/s"),
        Figure(
          section: section, name: "blender RECOMMEND p99 latency, unpipelined",
          value: median(recommends.map(\.p99Milliseconds)), unit: "ms"),
      ]
    } catch {
      note("TCP comparison failed: \(error)")
    }
    return figures
  }

  /// The reference experiment in Python, run in the same session.
  func pythonPeer(ourSeconds: Double?) -> [Figure] {
    guard let python = Tools.find("python3"), let script = Self.findPythonReference() else {
      note("python3 or Benchmarks/reference_notebook.py not found; skipping the Python peer")
      return []
    }
    let section = "Python reference (pandas, NumPy, scikit-learn) on the same data"
    var experiments: [Double] = []
    var allPairs: [Double] = []
    var peaks: [Double] = []
    for run in 1...settings.repeats {
      note("Python reference run \(run) of \(settings.repeats)")
      let output = work + "/python.json"
      guard
        let result = try? ChildProcess.run(
          python, [script, settings.dataDirectory], output: output, error: work + "/python.log"),
        result.status == 0, let json = try? readJSON(output)
      else {
        note("the Python reference failed (are pandas, numpy and scikit-learn installed?); see \(work)/python.log")
        return []
      }
      experiments.append(((json["timings_seconds"] as? [String: Double])?["experiment"]) ?? 0)
      allPairs.append((json["all_pairs_seconds_estimate"] as? Double) ?? 0)
      peaks.append(result.peakMiB)
    }
    var figures = [
      Figure(section: section, name: "experiment", value: median(experiments), unit: "s"),
      Figure(section: section, name: "scoring every pair (estimated)", value: median(allPairs), unit: "s"),
      Figure(section: section, name: "peak resident memory", value: median(peaks), unit: "MiB"),
    ]
    if let ourSeconds {
      figures.append(
        Figure(
          section: section, name: "its experiment + all pairs / our whole run",
          value: (median(experiments) + median(allPairs)) / ourSeconds, unit: "x"))
    }
    return figures
  }
}

extension SmallDatasetBench {
  /// Finds `Benchmarks/reference_notebook.py` in the current directory or in a directory
  /// above the executable, such as the package root above `.build/x86_64-.../release/`.
  static func findPythonReference() -> String? {
    let relative = "Benchmarks/reference_notebook.py"
    var candidates = [FileManager.default.currentDirectoryPath + "/" + relative]
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    var directory = URL(fileURLWithPath: executable ?? "/").deletingLastPathComponent()
    while directory.path != "/" {
      candidates.append(directory.path + "/" + relative)
      directory.deleteLastPathComponent()
    }
    return candidates.first { FileManager.default.fileExists(atPath: $0) }
  }
}

func readJSON(_ path: String) throws -> [String: Any] {
  let data = try Data(contentsOf: URL(fileURLWithPath: path))
  guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
    throw BenchError.failed("\(path) is not a JSON object")
  }
  return object
}
