import Foundation
import Glibc

/// A `stackrec-blend --listen 127.0.0.1:0` process, timed from spawn until
/// it logs its listening address.
struct BlenderProcess {
  let pid: pid_t
  let port: Int
  let startupSeconds: Double

  init(tools: Tools, store: String, work: String, extraArguments: [String] = []) throws {
    let log = work + "/blend-tcp-\(UInt32.random(in: 0...UInt32.max)).log"
    let start = Date()
    pid = try ChildProcess.spawn(
      tools.blend, ["--store", store, "--listen", "127.0.0.1:0"] + extraArguments, error: log)
    var port = 0
    while port == 0 && Date().timeIntervalSince(start) < 60 {
      let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      if let range = text.range(of: "listening address=127.0.0.1:") {
        port = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
      } else {
        usleep(2_000)
      }
    }
    startupSeconds = Date().timeIntervalSince(start)
    guard port > 0 else {
      kill(pid, SIGKILL)
      ChildProcess.wait(pid)
      throw BenchError.failed("stackrec-blend did not start; see \(log)")
    }
    self.port = port
  }

  func stop() {
    kill(pid, SIGTERM)
    ChildProcess.wait(pid)
  }
}

/// A throwaway `redis-server` on a free loopback port, without persistence,
/// with 610 keys so GET returns values.
struct RedisServer {
  let pid: pid_t
  let port: Int

  init(path: String, work: String) throws {
    port = Int.random(in: 20_000...40_000)
    pid = try ChildProcess.spawn(
      path,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
       "--dir", work],
      error: work + "/redis.log", )
    // Wait until it answers, then load the keys.
    let client = Tools.find("redis-cli") ?? "redis-cli"
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
      if let ping = try? ChildProcess.run(client, ["-p", String(port), "PING"]), ping.status == 0 {
        break
      }
      usleep(20_000)
    }
    var commands = ""
    for key in 0..<610 { commands += "SET key:\(String(format: "%012d", key)) 4.0689\n" }
    let file = work + "/redis-keys.txt"
    try commands.write(toFile: file, atomically: true, encoding: .utf8)
    _ = try ChildProcess.run(client, ["-p", String(port)], input: file)
  }

  func stop() {
    kill(pid, SIGTERM)
    ChildProcess.wait(pid)
  }
}

/// One `redis-benchmark` run, read from its CSV output.
struct RedisBenchmarkResult {
  var requestsPerSecond: Double
  var p50Milliseconds: Double
  var p99Milliseconds: Double

  static func run(
    _ path: String, port: Int, requests: Int, pipeline: Int, command: [String]
  ) throws -> RedisBenchmarkResult {
    let output = NSTemporaryDirectory() + "redis-benchmark-\(getpid()).csv"
    defer { unlink(output) }
    let result = try ChildProcess.run(
      path,
      ["-h", "127.0.0.1", "-p", String(port), "-c", "50", "-n", String(requests), "-P",
       String(pipeline), "--csv"] + command,
      output: output)
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    let lines = text.split(separator: "\n")
    guard result.status == 0, lines.count >= 2 else {
      throw BenchError.failed("redis-benchmark failed on port \(port): \(text.prefix(200))")
    }
    let header = lines[0].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
    let values = lines[1].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
    func value(_ name: String) -> Double {
      guard let index = header.firstIndex(of: name), index < values.count else { return 0 }
      return Double(values[index]) ?? 0
    }
    return RedisBenchmarkResult(
      requestsPerSecond: value("rps"), p50Milliseconds: value("p50_latency_ms"),
      p99Milliseconds: value("p99_latency_ms"))
  }
}
