import Foundation
import Testing

@testable import StackRec

/// The line protocol end to end through `BlendSession`, against a tiny store
/// whose replies are worked out from its content in the test.
///
/// Every model score is an exact rank-1 basis value, a multiple of 0.25,
/// and the blend weights are multiples of 0.25, so every blended score is
/// a multiple of 1/16 and prints exactly with four decimals.
@Suite struct BlendSessionTests {
  // MARK: - Fixture

  /// Users 10, 20, 30 and 40 (40 has no ratings in the fit); items 100 to
  /// 500 (500 has none).
  static func content(intercept: Double = 0.25, createdAt: String = "2026-03-01T10:00:00.000Z")
    -> FeatureStoreContent
  {
    let bias = StoredModel(
      key: "bias", scores: rankOneScores(users: [1, 1.5, 2, 1], items: [2, 3, 1, 2.5, 2]),
      basis: ScoreBasis(rank: 1, userTerms: [1, 1.5, 2, 1], itemTerms: [2, 3, 1, 2.5, 2]),
      unknownUserScores: [3, 3.5, 2.5, 4, 3], unknownItemScores: [3, 2.5, 4, 3],
      unknownUserAndItemScore: 3)
    let mf = StoredModel(
      key: "mf", scores: rankOneScores(users: [2, 1, 0.5, 1], items: [2, 1.5, 3, 1, 2]),
      basis: ScoreBasis(rank: 1, userTerms: [2, 1, 0.5, 1], itemTerms: [2, 1.5, 3, 1, 2]),
      unknownUserScores: [2.5, 3, 3, 3.5, 1], unknownItemScores: [3.5, 3, 2, 3],
      unknownUserAndItemScore: 3.5)
    return FeatureStoreContent(
      createdAt: createdAt, datasetFingerprint: "0123456789abcdef0123456789abcdef",
      serveFit: "base", ratingScale: 0.5...5, userIDs: [10, 20, 30, 40],
      itemIDs: [100, 200, 300, 400, 500], titles: ["A", "B", "C", "D", "E"],
      userSupport: [5, 3, 4, 0], itemSupport: [6, 2, 5, 1, 0],
      ratedItems: [[0], [1, 3], [], [2]], models: [bias, mf],
      blend: BlendModel(intercept: intercept, weights: [0.75, 0.5]))
  }

  private static func rankOneScores(users: [Float], items: [Float]) -> [Float] {
    users.flatMap { user in items.map { user * $0 } }
  }

  /// Small limits so the boundaries are cheap to reach.
  static var limits: Blender.Limits {
    var limits = Blender.Limits()
    limits.maxLineLength = 64
    limits.maxBatch = 3
    limits.maxCount = 4
    limits.defaultCount = 4
    return limits
  }

  /// Writes `content` to a fresh directory and runs `body` with a blender
  /// serving it and the store's path.
  private func withBlender(
    _ content: FeatureStoreContent = Self.content(),
    _ body: (Blender, String) throws -> Void
  ) throws {
    try StoreTestDirectory.with { directory throws in
      let path = directory.file("store.sqlite")
      _ = try FeatureStoreWriter.write(content, to: path)
      let blender = try Blender(
        storePath: path, limits: Self.limits, logger: Logger(label: "test", threshold: .critical))
      try body(blender, path)
    }
  }

  /// Feeds `bytes` to a session in chunks of `chunkSize`, as a transport
  /// does: unconsumed bytes are kept and sent again with the next chunk,
  /// and the tail is passed to `finish` at the end of the input.
  private func feed(_ bytes: [UInt8], to session: BlendSession, chunkSize: Int) -> (
    output: String, closed: Bool
  ) {
    var pending: [UInt8] = []
    var output: [UInt8] = []
    var offset = 0
    while offset < bytes.count {
      let end = min(offset + chunkSize, bytes.count)
      pending += bytes[offset..<end]
      offset = end
      let result = pending.withUnsafeBytes { session.process($0, into: &output) }
      pending.removeFirst(result.consumed)
      if result.close { return (String(decoding: output, as: UTF8.self), true) }
    }
    pending.withUnsafeBytes { session.finish($0, into: &output) }
    return (String(decoding: output, as: UTF8.self), false)
  }

  /// Sends `bytes` to a new session of `blender` and returns the replies.
  private func send(
    _ bytes: [UInt8], to blender: Blender, allowsAdministration: Bool = true,
    chunkSize: Int = 1 << 20
  ) -> String {
    let session = BlendSession(blender: blender, allowsAdministration: allowsAdministration)
    return feed(bytes, to: session, chunkSize: chunkSize).output
  }

  private func send(
    _ text: String, to blender: Blender, allowsAdministration: Bool = true,
    chunkSize: Int = 1 << 20
  ) -> String {
    send(
      Array(text.utf8), to: blender, allowsAdministration: allowsAdministration,
      chunkSize: chunkSize)
  }

  // MARK: - Expected replies, computed from the content

  /// The replies for `content`, worked out with its ids, support, rated
  /// items and blend, independently of the store and the blender.
  struct Expected {
    let content: FeatureStoreContent

    func userIndex(_ id: Int32) -> Int? { content.userIDs.firstIndex(of: id) }
    func itemIndex(_ id: Int32) -> Int? { content.itemIDs.firstIndex(of: id) }

    /// Returns each model's score and the fallback flag for a pair of ids.
    func modelScores(user: Int32, item: Int32) -> ([Float], Fallback) {
      switch (userIndex(user), itemIndex(item)) {
      case (let user?, let item?):
        let fallback = Fallback(
          userKnown: content.userSupport[user] > 0, itemKnown: content.itemSupport[item] > 0)
        return (StoreFixtures.modelScores(content, user: user, item: item), fallback)
      case (nil, let item?):
        return (content.models.map { $0.unknownUserScores[item] }, .unknownUser)
      case (let user?, nil):
        let fallback: Fallback =
          content.userSupport[user] > 0 ? .unknownItem : .unknownUserAndItem
        return (content.models.map { $0.unknownItemScores[user] }, fallback)
      case (nil, nil):
        return (content.models.map(\.unknownUserAndItemScore), .unknownUserAndItem)
      }
    }

    func unclipped(user: Int32, item: Int32) -> Double {
      StoreFixtures.blended(content, modelScores(user: user, item: item).0)
    }

    func clipped(user: Int32, item: Int32) -> Double {
      StoreFixtures.clipped(content, unclipped(user: user, item: item))
    }

    func score(_ user: Int32, _ item: Int32) -> String {
      let fallback = modelScores(user: user, item: item).1
      let suffix = fallback == .none ? "" : " fallback=\(fallback.rawValue)"
      return fixed(clipped(user: user, item: item)) + suffix
    }

    func scores(_ user: Int32, _ items: [Int32]) -> String {
      items.map { item in
        let fallback = modelScores(user: user, item: item).1
        let suffix = fallback == .none ? "" : "/\(fallback.rawValue)"
        return fixed(clipped(user: user, item: item)) + suffix
      }.joined(separator: " ")
    }

    /// Returns the unrated items with support, best unclipped score first and
    /// ties by ascending item id.
    func recommend(_ user: Int32, _ count: Int) -> String {
      let index = userIndex(user)
      let rated = index.map { Set(content.ratedItems[$0]) } ?? []
      let candidates = (0..<content.itemCount).filter {
        content.itemSupport[$0] > 0 && !rated.contains(Int32($0))
      }
      var ranked: [(id: Int32, score: Double)] = candidates.map { item in
        let id = content.itemIDs[item]
        return (id, unclipped(user: user, item: id))
      }
      ranked.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
      let items: [String] = ranked.prefix(count).map { entry in
        let score = fixed(StoreFixtures.clipped(content, entry.score))
        return "\(entry.id):\(score)"
      }
      var line = items.isEmpty ? "none" : items.joined(separator: " ")
      if index.map({ content.userSupport[$0] == 0 }) ?? true {
        line += " fallback=unknown-user"
      }
      return line
    }

    func explain(_ user: Int32, _ item: Int32) -> String {
      let (scores, fallback) = modelScores(user: user, item: item)
      var line = "score=\(fixed(clipped(user: user, item: item)))"
      line += " unclipped=\(fixed(unclipped(user: user, item: item), 6))"
      line += " intercept=\(fixed(content.blend.intercept, 6))"
      for (model, (score, weight)) in zip(content.models, zip(scores, content.blend.weights)) {
        line += " \(model.key).score=\(fixed(Double(score), 6))"
        line += " \(model.key).weight=\(fixed(weight, 6))"
        line += " \(model.key).contribution=\(fixed(weight * Double(score), 6))"
      }
      return line + " fallback=\(fallback.rawValue)"
    }

    func fixed(_ value: Double, _ decimals: Int = 4) -> String {
      String(format: "%.\(decimals)f", value)
    }
  }

  /// Request lines and their replies: every command, the fallbacks, and
  /// every kind of malformed line.
  static func table(_ expected: Expected) -> [(request: [UInt8], reply: String)] {
    let lines: [(String, String)] = [
      ("SCORE 10 200", expected.score(10, 200)),
      ("score 20 400", expected.score(20, 400)),
      ("SCORE 30 200", expected.score(30, 200)),
      ("SCORE 40 100", expected.score(40, 100)),
      ("SCORE 10 500", expected.score(10, 500)),
      ("SCORE 40 500", expected.score(40, 500)),
      ("SCORE 10 999", expected.score(10, 999)),
      ("SCORE 40 999", expected.score(40, 999)),
      ("SCORE 99 100", expected.score(99, 100)),
      ("SCORE 99 999", expected.score(99, 999)),
      ("SCORES 10 100 200 999", expected.scores(10, [100, 200, 999])),
      ("Scores 99 300 500", expected.scores(99, [300, 500])),
      ("RECOMMEND 10", expected.recommend(10, 4)),
      ("RECOMMEND 10 2", expected.recommend(10, 2)),
      ("RECOMMEND 20 4", expected.recommend(20, 4)),
      ("recommend 30", expected.recommend(30, 4)),
      ("RECOMMEND 40", expected.recommend(40, 4)),
      ("RECOMMEND 99 1", expected.recommend(99, 1)),
      ("EXPLAIN 10 200", expected.explain(10, 200)),
      ("EXPLAIN 30 200", expected.explain(30, 200)),
      ("EXPLAIN 40 100", expected.explain(40, 100)),
      ("explain 99 999", expected.explain(99, 999)),
      ("PING", "PONG"),
      (
        "FOO 1",
        "ERR unknown command 'FOO'; commands are "
          + "SCORE, SCORES, RECOMMEND, EXPLAIN, INFO, PING, RELOAD, QUIT"
      ),
      ("SCORE 10", "ERR wrong number of arguments for SCORE; usage: SCORE user item"),
      ("SCORES 10", "ERR wrong number of arguments for SCORES; usage: SCORES user item [item ...]"),
      ("RECOMMEND", "ERR wrong number of arguments for RECOMMEND; usage: RECOMMEND user [k]"),
      ("EXPLAIN 1 2 3", "ERR wrong number of arguments for EXPLAIN; usage: EXPLAIN user item"),
      ("INFO all", "ERR wrong number of arguments for INFO; usage: INFO"),
      ("PING 1", "ERR wrong number of arguments for PING; usage: PING"),
      ("RELOAD now", "ERR wrong number of arguments for RELOAD; usage: RELOAD"),
      ("QUIT now", "ERR wrong number of arguments for QUIT; usage: QUIT"),
      ("SCORE ten 200", "ERR invalid id 'ten'; ids are integers from 0 to 2147483647"),
      ("SCORE -1 200", "ERR invalid id '-1'; ids are integers from 0 to 2147483647"),
      ("SCORE 10 2147483648", "ERR invalid id '2147483648'; ids are integers from 0 to 2147483647"),
      ("RECOMMEND 10 0", "ERR invalid count '0'; k is an integer from 1 to 4"),
      ("RECOMMEND 10 5", "ERR invalid count '5'; k is an integer from 1 to 4"),
      ("RECOMMEND 10 k", "ERR invalid count 'k'; k is an integer from 1 to 4"),
      ("SCORES 10 100 200 300 400", "ERR too many items; SCORES takes at most 3 items per request"),
      (
        "S\u{01}CORE 10 200",
        "ERR unknown command 'S\\x1CORE'; commands are "
          + "SCORE, SCORES, RECOMMEND, EXPLAIN, INFO, PING, RELOAD, QUIT"
      ),
    ]
    return lines.map { (Array($0.0.utf8), $0.1) } + [
      (Array("SCORE ".utf8) + [0xFF] + Array(" 200".utf8), "ERR invalid UTF-8 in request")
    ]
  }

  // MARK: - Requests

  @Test func tableRepliesMatchContent() throws {
    let expected = Expected(content: Self.content())
    try withBlender { blender, _ throws in
      for (request, reply) in Self.table(expected) {
        // A PING after each line shows the session still works.
        let output = send(request + Array("\nPING\n".utf8), to: blender)
        #expect(output == reply + "\nPONG\n", "request \(String(decoding: request, as: UTF8.self))")
      }
    }
  }

  @Test func recommendOrdersTiesByItemID() throws {
    // User 10 scores items 200 and 300 both 4.0; item 100 is rated and 500
    // has no support.
    try withBlender { blender, _ throws in
      #expect(send("RECOMMEND 10\n", to: blender) == "200:4.0000 300:4.0000 400:3.1250\n")
    }
  }

  @Test func recommendRanksClippedScoresUnclipped() throws {
    // User 30's item 200 blends to 5.125: it ranks first and prints as 5.
    try withBlender { blender, _ throws in
      #expect(
        send("RECOMMEND 30\n", to: blender)
          == "200:5.0000 400:4.2500 100:3.7500 300:2.5000\n")
    }
  }

  @Test func infoReportsStoreAndCounters() throws {
    let content = Self.content()
    try withBlender(content) { blender, _ throws in
      let output = send("PING\nFOO\nINFO\n", to: blender)
      let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
      #expect(lines.count == 4)
      let fields = lines[2].split(separator: " ").map { field in
        let parts = field.split(separator: "=", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
      }
      #expect(
        fields.map(\.0) == [
          "format_version", "created_at", "dataset_fingerprint", "serve_fit", "layout", "users",
          "items", "models", "uptime_seconds", "requests", "errors", "reloads", "failed_reloads",
          "connections",
        ])
      let values = Dictionary(fields, uniquingKeysWith: { first, _ in first })
      #expect(values["format_version"] == "1")
      #expect(values["created_at"] == content.createdAt)
      #expect(values["dataset_fingerprint"] == "0123456789abcdef")
      #expect(values["serve_fit"] == "base")
      #expect(values["users"] == "4")
      #expect(values["items"] == "5")
      #expect(values["models"] == "bias,mf")
      #expect(values["uptime_seconds"].flatMap { Int($0) } != nil)
      #expect(values["requests"] == "3")
      #expect(values["errors"] == "1")
      #expect(values["reloads"] == "0")
      #expect(values["failed_reloads"] == "0")
    }
  }

  // MARK: - Framing

  /// Builds a stream that mixes every kind of line: requests, errors, CRLF,
  /// blank lines, over-long lines, lines of exactly the maximum length, and
  /// a last line without a line break.
  static func framingStream(_ expected: Expected) -> (input: [UInt8], output: String) {
    var input: [UInt8] = []
    var output = ""
    for (request, reply) in table(expected) {
      input += request + [0x0A]
      output += reply + "\n"
    }
    // 8 + 53 + 3 = 64 bytes, the longest line the limits accept.
    let padded = "SCORE 10" + String(repeating: " ", count: 53) + "200"
    let extra: [(String, String?)] = [
      ("\n", nil),
      ("   \t \r\n", nil),
      ("PING\r\n", "PONG"),
      ("SCORE 20 300\r\n", expected.score(20, 300)),
      (padded + "\n", expected.score(10, 200)),
      (padded + "\r\n", expected.score(10, 200)),
      (padded + "0\n", "ERR line too long; requests are limited to 64 bytes"),
      (
        String(repeating: "SCORES 10 100 ", count: 20) + "\n",
        "ERR line too long; requests are limited to 64 bytes"
      ),
      ("PING\n", "PONG"),
      ("SCORES 20 100 300", expected.scores(20, [100, 300])),
    ]
    for (line, reply) in extra {
      input += Array(line.utf8)
      if let reply { output += reply + "\n" }
    }
    return (input, output)
  }

  @Test(arguments: [1, 2, 7, 64, 1 << 20])
  func chunkedInputGivesSameReplies(chunkSize: Int) throws {
    let stream = Self.framingStream(Expected(content: Self.content()))
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      let result = feed(stream.input, to: session, chunkSize: chunkSize)
      #expect(result.output == stream.output)
      #expect(!result.closed)
    }
  }

  @Test func overlongLineGivesOneError() throws {
    try withBlender { blender, _ throws in
      let line = String(repeating: "PING ", count: 100)
      for chunkSize in [1, 7, 1 << 20] {
        let output = send(line + "\nPING\n", to: blender, chunkSize: chunkSize)
        #expect(output == "ERR line too long; requests are limited to 64 bytes\nPONG\n")
      }
    }
  }

  @Test func crlfLineAtLimitSplitBeforeLF() throws {
    // A request of exactly the maximum length whose CR arrived in one read
    // and its LF in the next used to be rejected as too long.
    let expected = Expected(content: Self.content()).score(10, 200)
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      let line = Array(("SCORE 10" + String(repeating: " ", count: 53) + "200\r").utf8)
      var output: [UInt8] = []
      let consumed = line.withUnsafeBytes { session.process($0, into: &output).consumed }
      #expect(consumed == 0)
      #expect(output.isEmpty)

      let rest = Array(line[consumed...]) + [0x0A]
      _ = rest.withUnsafeBytes { session.process($0, into: &output) }
      #expect(String(decoding: output, as: UTF8.self) == expected + "\n")
    }
  }

  @Test func overlongLastLineGivesOneError() throws {
    try withBlender { blender, _ throws in
      let output = send("PING\n" + String(repeating: "x", count: 65), to: blender)
      #expect(output == "PONG\nERR line too long; requests are limited to 64 bytes\n")
    }
  }

  @Test func quitStopsProcessing() throws {
    try withBlender { blender, _ throws in
      let input = Array("PING\nQUIT\nPING\n".utf8)
      let session = BlendSession(blender: blender, allowsAdministration: false)
      var output: [UInt8] = []
      let result = input.withUnsafeBytes { session.process($0, into: &output) }
      #expect(String(decoding: output, as: UTF8.self) == "PONG\nOK bye\n")
      #expect(result.close)
      #expect(result.consumed == 10)
    }
  }

  @Test(arguments: [1, 2, 7, 64])
  func quitStopsChunkedInput(chunkSize: Int) throws {
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      let result = feed(Array("PING\nquit\r\nPING\n".utf8), to: session, chunkSize: chunkSize)
      #expect(result.output == "PONG\nOK bye\n")
      #expect(result.closed)
    }
  }

  // MARK: - Reload

  @Test func reloadNeedsPermission() throws {
    try withBlender { blender, _ throws in
      let output = send("RELOAD\nPING\n", to: blender, allowsAdministration: false)
      #expect(output == "ERR not permitted: RELOAD is disabled for this client\nPONG\n")
    }
  }

  @Test func reloadServesReplacedStore() throws {
    let first = Self.content()
    let second = Self.content(intercept: -0.5, createdAt: "2026-03-02T10:00:00.000Z")
    let oldScore = Expected(content: first).score(10, 200)
    let newScore = Expected(content: second).score(10, 200)
    try #require(oldScore != newScore)
    try withBlender(first) { blender, path throws in
      let session = BlendSession(blender: blender, allowsAdministration: true)
      let other = BlendSession(blender: blender, allowsAdministration: false)
      #expect(
        feed(Array("SCORE 10 200\n".utf8), to: other, chunkSize: 64).output == oldScore + "\n")

      _ = try FeatureStoreWriter.write(second, to: path)
      let output = feed(Array("RELOAD\nSCORE 10 200\n".utf8), to: session, chunkSize: 64).output
      #expect(
        output == "OK reloaded users=4 items=5 created_at=\(second.createdAt)\n\(newScore)\n")
      // Another session on the same blender also replies from the new store.
      #expect(
        feed(Array("SCORE 10 200\n".utf8), to: other, chunkSize: 64).output == newScore + "\n")
    }
  }

  @Test func failedReloadKeepsServingOldStore() throws {
    let content = Self.content()
    let score = Expected(content: content).score(10, 200)
    try withBlender(content) { blender, path throws in
      try writeStoreTestFile(path, Array("this is not a feature store\n".utf8))
      let output = send("RELOAD\nSCORE 10 200\nINFO\n", to: blender)
      let lines = output.split(separator: "\n").map(String.init)
      try #require(lines.count == 3)
      #expect(lines[0].hasPrefix("ERR reload failed: \(path): not a stackrec feature store"))
      #expect(lines[0].hasSuffix("still serving the store created at \(content.createdAt)"))
      #expect(lines[1] == score)
      #expect(lines[2].contains(" failed_reloads=1 "))
      #expect(lines[2].contains(" reloads=0 "))
    }
  }

  // MARK: - RESP

  /// Converts the expected text replies to the RESP values that carry the same content.
  struct ExpectedRESP {
    let text: Expected

    /// `3.5000 fallback=unknown-item` becomes ["3.5000", "unknown-item"].
    func score(_ user: Int32, _ item: Int32) -> RESPValue {
      let parts = text.score(user, item).components(separatedBy: " fallback=")
      return .bulks([parts[0], parts.count > 1 ? parts[1] : "none"])
    }

    /// `4.0000 3.5000/unknown-item` becomes [["4.0000", "none"], ["3.5000", "unknown-item"]].
    func scores(_ user: Int32, _ items: [Int32]) -> RESPValue {
      .array(
        text.scores(user, items).split(separator: " ").map { entry in
          let parts = entry.split(separator: "/").map(String.init)
          return .bulks([parts[0], parts.count > 1 ? parts[1] : "none"])
        })
    }

    /// `200:4.0000 300:4.0000` becomes [["200", "4.0000", "300", "4.0000"], "none"].
    func recommend(_ user: Int32, _ count: Int) -> RESPValue {
      var words = text.recommend(user, count).split(separator: " ").map(String.init)
      var fallback = "none"
      if let last = words.last, last.hasPrefix("fallback=") {
        fallback = String(last.dropFirst("fallback=".count))
        words.removeLast()
      }
      let pairs =
        words == ["none"] ? [] : words.flatMap { $0.split(separator: ":").map(String.init) }
      return .array([.bulks(pairs), .bulk(fallback)])
    }

    /// `score=4.0000 unclipped=...` becomes ["score", "4.0000", "unclipped", ...].
    func explain(_ user: Int32, _ item: Int32) -> RESPValue {
      .bulks(
        text.explain(user, item).split(separator: " ").flatMap {
          $0.split(separator: "=", maxSplits: 1).map(String.init)
        })
    }
  }

  /// RESP requests and their replies: every command, the RESP-only ones, and the errors.
  static func respTable(_ expected: ExpectedRESP) -> [(request: [UInt8], reply: RESPValue?)] {
    let commands = "SCORE, SCORES, RECOMMEND, EXPLAIN, INFO, PING, RELOAD, QUIT"
    let requests: [([String], RESPValue)] = [
      (["SCORE", "10", "200"], expected.score(10, 200)),
      (["score", "40", "100"], expected.score(40, 100)),
      (["SCORE", "10", "500"], expected.score(10, 500)),
      (["SCORE", "10", "999"], expected.score(10, 999)),
      (["SCORE", "99", "999"], expected.score(99, 999)),
      (["SCORES", "10", "100", "200", "999"], expected.scores(10, [100, 200, 999])),
      (["SCORES", "99", "300"], expected.scores(99, [300])),
      (["RECOMMEND", "10"], expected.recommend(10, 4)),
      (["RECOMMEND", "20", "2"], expected.recommend(20, 2)),
      (["RECOMMEND", "40"], expected.recommend(40, 4)),
      (["RECOMMEND", "99", "1"], expected.recommend(99, 1)),
      (["EXPLAIN", "10", "200"], expected.explain(10, 200)),
      (["EXPLAIN", "99", "999"], expected.explain(99, 999)),
      (["PING"], .simple("PONG")),
      (["PING", "hello\r\nworld"], .bulk("hello\r\nworld")),
      (["COMMAND"], .array([])),
      (["COMMAND", "DOCS"], .array([])),
      (["CONFIG", "GET", "save", "appendonly"], .bulks(["save", "", "appendonly", "no"])),
      (["CONFIG", "GET", "maxmemory"], .array([])),
      (["FOO", "1"], .error("ERR unknown command 'FOO'; commands are \(commands)")),
      (["HELLO", "3"], .error("ERR unknown command 'HELLO'; commands are \(commands)")),
      (["SCORE", "10"], .error("ERR wrong number of arguments for SCORE; usage: SCORE user item")),
      (["PING", "a", "b"], .error("ERR wrong number of arguments for PING; usage: PING [message]")),
      (
        ["SCORE", "ten", "200"],
        .error("ERR invalid id 'ten'; ids are integers from 0 to 2147483647")
      ),
      (["RECOMMEND", "10", "5"], .error("ERR invalid count '5'; k is an integer from 1 to 4")),
      (
        ["CONFIG", "SET", "save", ""],
        .error(
          "ERR unknown subcommand 'SET' for CONFIG; usage: CONFIG GET parameter [parameter ...]")
      ),
      (
        ["RELOAD"],
        .simple("OK reloaded users=4 items=5 created_at=\(expected.text.content.createdAt)")
      ),
    ]
    return requests.map { (respRequest($0.0), $0.1) } + [
      (
        Array("*3\r\n$5\r\nSCORE\r\n$2\r\n1".utf8) + [0xFF] + Array("\r\n$3\r\n200\r\n".utf8),
        .error("ERR invalid UTF-8 in request")
      ),
      // An empty array is no request and gets no reply, like a blank line.
      (Array("*0\r\n".utf8), nil),
    ]
  }

  @Test func respTableRepliesMatchContent() throws {
    let expected = ExpectedRESP(text: Expected(content: Self.content()))
    try withBlender { blender, _ throws in
      for (request, reply) in Self.respTable(expected) {
        // A PING after each request shows the session still works.
        let output = send(request + respRequest(["PING"]), to: blender)
        #expect(
          output == (reply?.encoded ?? "") + "+PONG\r\n",
          "request \(String(decoding: request, as: UTF8.self).debugDescription)")
      }
    }
  }

  @Test func respInfoIsRedisStyleBulk() throws {
    let content = Self.content()
    try withBlender(content) { blender, _ throws in
      // Bytes, not Characters: Swift treats CRLF as one Character.
      let output = Array(send(respRequest(["INFO"]), to: blender).utf8)
      let headerEnd = try #require(output.firstIndex(of: 0x0D))
      let body = String(decoding: output[(headerEnd + 2)..<(output.count - 2)], as: UTF8.self)
      #expect(String(decoding: output[..<headerEnd], as: UTF8.self) == "$\(body.utf8.count)")
      #expect(output.suffix(2) == [0x0D, 0x0A])
      let lines = body.components(separatedBy: "\r\n")
      #expect(lines.last == "")
      let fields = lines.dropLast().map { line in
        let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
        return (parts[0], parts.count > 1 ? parts[1] : "")
      }
      #expect(fields.count == 14)
      #expect(fields.contains { $0.0 == "layout" && $0.1 == "dense" })
      let values = Dictionary(fields, uniquingKeysWith: { first, _ in first })
      #expect(values["created_at"] == content.createdAt)
      #expect(values["users"] == "4")
      #expect(values["models"] == "bias,mf")
      #expect(values["requests"] == "1")
    }
  }

  /// Text lines and RESP requests alternating on one connection, each answered in its own
  /// format and in order.
  static func mixedStream(_ expected: Expected) -> (input: [UInt8], output: String) {
    let resp = ExpectedRESP(text: expected)
    var input: [UInt8] = []
    var output = ""
    input += Array("PING\n".utf8)
    output += "PONG\n"
    input += respRequest(["SCORE", "10", "200"])
    output += resp.score(10, 200).encoded
    input += Array("SCORE 10 200\r\n".utf8)
    output += expected.score(10, 200) + "\n"
    input += respRequest(["SCORES", "20", "100", "999"])
    output += resp.scores(20, [100, 999]).encoded
    input += respRequest(["PING"]) + respRequest(["PING", "x"])
    output += "+PONG\r\n$1\r\nx\r\n"
    input += Array("\nFOO\n".utf8)
    output += "ERR unknown command 'FOO'; commands are "
      + "SCORE, SCORES, RECOMMEND, EXPLAIN, INFO, PING, RELOAD, QUIT\n"
    input += respRequest(["RECOMMEND", "99", "2"])
    output += resp.recommend(99, 2).encoded
    // The rest of an over-long line is skipped, even where a chunk of it starts with '*'.
    input += Array(("x" + String(repeating: "*", count: 70) + "\n").utf8)
    output += "ERR line too long; requests are limited to 64 bytes\n"
    input += respRequest(["EXPLAIN", "10", "200"])
    output += resp.explain(10, 200).encoded
    input += Array("*0\r\n".utf8)
    input += Array("EXPLAIN 10 200".utf8)
    output += expected.explain(10, 200) + "\n"
    return (input, output)
  }

  @Test(arguments: [1, 2, 7, 64, 1 << 20])
  func mixedTextAndRESPGiveSameReplies(chunkSize: Int) throws {
    let stream = Self.mixedStream(Expected(content: Self.content()))
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      let result = feed(stream.input, to: session, chunkSize: chunkSize)
      #expect(result.output == stream.output)
      #expect(!result.closed)
    }
  }

  @Test(arguments: [1, 7, 1 << 20])
  func respQuitRepliesOKAndCloses(chunkSize: Int) throws {
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      let input = respRequest(["PING"]) + respRequest(["QUIT"]) + respRequest(["PING"])
      let result = feed(input, to: session, chunkSize: chunkSize)
      #expect(result.output == "+PONG\r\n+OK\r\n")
      #expect(result.closed)
    }
  }

  @Test func respQuitConsumesUpToItsEnd() throws {
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      let input = respRequest(["QUIT"]) + respRequest(["PING"])
      var output: [UInt8] = []
      let result = input.withUnsafeBytes { session.process($0, into: &output) }
      #expect(result.consumed == respRequest(["QUIT"]).count)
      #expect(result.close)
    }
  }

  static let malformedRESP: [(String, String)] = [
    ("*-1\r\n", "invalid array length '-'"),
    ("*6\r\n", "too many arguments (6); requests take at most 5"),
    ("*1\r\n+PING\r\n", "expected '$', got '+'"),
    ("*1\r\n$-1\r\n", "invalid bulk length '-'"),
    ("*1\r\n$4\r\nPINGxx", "missing CRLF after a bulk string"),
    ("*1\r\n$65\r\n", "request too long; its arguments, joined by spaces, are limited to 64 bytes"),
  ]

  @Test(arguments: malformedRESP)
  func malformedRESPGetsOneErrorAndCloses(request: String, details: String) throws {
    try withBlender { blender, _ throws in
      for chunkSize in [1, 3, 1 << 20] {
        let session = BlendSession(blender: blender, allowsAdministration: false)
        let input = Array(("PING\n" + request + "PING\n" + "*1\r\n$4\r\nPING\r\n").utf8)
        let result = feed(input, to: session, chunkSize: chunkSize)
        #expect(result.output == "PONG\n-ERR protocol error: \(details)\r\n", "\(chunkSize)")
        #expect(result.closed)
      }
    }
  }

  @Test func incompleteRESPAtEndGetsError() throws {
    try withBlender { blender, _ throws in
      let request = respRequest(["SCORE", "10", "200"])
      let output = send(respRequest(["PING"]) + request.dropLast(3), to: blender)
      #expect(
        output == "+PONG\r\n-ERR protocol error: incomplete request at the end of the input\r\n")
    }
  }

  @Test func respRequestOfferedInShorterSlices() throws {
    // The TCP server may offer a shorter slice of a request it offered before.
    let expected = ExpectedRESP(text: Expected(content: Self.content())).scores(10, [100, 200, 300])
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      let request = respRequest(["SCORES", "10", "100", "200", "300"])
      var output: [UInt8] = []
      for length in [30, 5, 40, 12] {
        let prefix = Array(request[..<length])
        let result = prefix.withUnsafeBytes { session.process($0, into: &output) }
        #expect(result.consumed == 0)
      }
      let result = request.withUnsafeBytes { session.process($0, into: &output) }
      #expect(result.consumed == request.count)
      #expect(String(decoding: output, as: UTF8.self) == expected.encoded)
    }
  }

  @Test func inputLimitReplyUsesPendingFormat() throws {
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      var output: [UInt8] = []
      let partial = Array(respRequest(["SCORE", "10", "200"])[..<20])
      _ = partial.withUnsafeBytes { session.process($0, into: &output) }
      session.inputLimitExceeded(limit: 100, into: &output)
      #expect(
        String(decoding: output, as: UTF8.self)
          == "-ERR request too long (limit 100 bytes); closing connection\r\n")

      let text = BlendSession(blender: blender, allowsAdministration: false)
      var textOutput: [UInt8] = []
      _ = Array("SCORE 10".utf8).withUnsafeBytes { text.process($0, into: &textOutput) }
      text.inputLimitExceeded(limit: 100, into: &textOutput)
      #expect(
        String(decoding: textOutput, as: UTF8.self)
          == "ERR request too long (limit 100 bytes); closing connection\n")
    }
  }

  @Test func requestTimeoutReplyUsesPendingFormat() throws {
    try withBlender { blender, _ throws in
      let session = BlendSession(blender: blender, allowsAdministration: false)
      var output: [UInt8] = []
      let partial = Array(respRequest(["SCORE", "10", "200"])[..<20])
      _ = partial.withUnsafeBytes { session.process($0, into: &output) }
      session.requestTimedOut(after: .seconds(30), into: &output)
      #expect(
        String(decoding: output, as: UTF8.self)
          == "-ERR request incomplete after 30 s; closing connection\r\n")

      let text = BlendSession(blender: blender, allowsAdministration: false)
      var textOutput: [UInt8] = []
      _ = Array("SCORE 10".utf8).withUnsafeBytes { text.process($0, into: &textOutput) }
      text.requestTimedOut(after: .milliseconds(1500), into: &textOutput)
      #expect(
        String(decoding: textOutput, as: UTF8.self)
          == "ERR request incomplete after 1.5 s; closing connection\n")
    }
  }

  @Test func respReloadNeedsPermission() throws {
    try withBlender { blender, _ throws in
      let output = send(
        respRequest(["RELOAD"]) + respRequest(["PING"]), to: blender, allowsAdministration: false)
      #expect(output == "-ERR not permitted: RELOAD is disabled for this client\r\n+PONG\r\n")
    }
  }
}
