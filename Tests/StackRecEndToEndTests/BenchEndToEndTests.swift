import Foundation
import StackRec
import Testing

/// Runs the built `stackrec-bench` in its quick mode on a tiny synthetic
/// dataset: the benchmark is not part of the suite, but it must keep
/// working.
@Suite struct BenchEndToEndTests {
  static let benchPath: String = {
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    let directory = URL(fileURLWithPath: testBinary ?? "").deletingLastPathComponent().path
    return directory + "/stackrec-bench"
  }()

  @Test func quickRunWritesEveryFigure() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("stackrec-bench-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try SyntheticRatings(users: 60, items: 50, ratings: 1200, seed: 3).write(to: directory + "/data")

    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.benchPath)
    process.arguments = [
      "--quick", "--data", directory + "/data", "--json", directory + "/bench.json",
      "--work-dir", directory + "/work",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)

    let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/bench.json"))
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let figures = try #require(json["figures"] as? [[String: Any]])
    let names = Set(figures.compactMap { $0["name"] as? String })
    for expected in [
      "whole run", "peak resident memory", "store size / raw float32 scores",
      "start-up to serving (TCP)", "resident memory after start-up", "stdin SCORE throughput",
      "stdin RECOMMEND k=10 throughput",
    ] {
      #expect(names.contains(expected), "\(expected)")
    }
    for figure in figures {
      let value = try #require(figure["value"] as? Double)
      #expect(value.isFinite && value >= 0, "\(figure)")
    }
  }
}
