import Synchronization

/// Answers requests from the current feature store and swaps in a new one
/// on reload.
///
/// The store is an immutable `StoreSnapshot` behind a lock that is held
/// only to copy the reference. A reload builds and validates the new
/// snapshot off to the side, then swaps the reference, so requests in
/// flight finish on the old one and a store that fails validation never
/// replaces a good one. Sessions cache the snapshot and refresh it when
/// `generation` changes.
public final class Blender: Sendable {
  public struct Limits: Sendable {
    /// The longest accepted request line, in bytes, without its line break.
    public var maxLineLength = 8192
    /// The most items one SCORES request may ask for.
    public var maxBatch = 1000
    /// The largest k RECOMMEND accepts.
    public var maxCount = 1000
    /// The k RECOMMEND uses when none is given.
    public var defaultCount = 10

    public init() {}
  }

  public let storePath: String
  public let limits: Limits
  public let parser: RequestParser
  let logger: Logger
  private let current: Mutex<StoreSnapshot>
  private let reloadLock = Mutex(())
  private let startTime = Stopwatch()
  /// Counts repeats of the protocol-error warning, which sessions on every thread log.
  private let protocolErrorLimiter: Mutex<LogRepeatLimiter>
  /// Counts repeats of the errors reading a candidate-limited store while serving, which
  /// every request for an uncached user hits once the file is damaged.
  private let storeErrorLimiter: Mutex<LogRepeatLimiter>

  /// Incremented by each successful reload.
  let generation = Atomic<Int>(0)
  let requestCount = Atomic<Int>(0)
  let errorCount = Atomic<Int>(0)
  let reloadCount = Atomic<Int>(0)
  let failedReloadCount = Atomic<Int>(0)
  /// Connections now open; maintained by the TCP transport.
  let openConnections = Atomic<Int>(0)

  /// Loads the store at `storePath`.
  ///
  /// - Throws: `StoreError` or `SQLiteError` when the store is missing or
  ///   fails validation.
  public init(storePath: String, limits: Limits = Limits(), logger: Logger) throws {
    self.storePath = storePath
    self.limits = limits
    self.logger = logger
    protocolErrorLimiter = Mutex(LogRepeatLimiter(logger: logger))
    storeErrorLimiter = Mutex(LogRepeatLimiter(logger: logger))
    parser = RequestParser(
      maxCount: limits.maxCount, maxBatch: limits.maxBatch, defaultCount: limits.defaultCount)
    let snapshot = try FeatureStoreReader.load(path: storePath)
    current = Mutex(snapshot)
    logger.info(
      "loaded feature store",
      [
        "path": storePath, "format_version": snapshot.header.formatVersion,
        "created_at": snapshot.header.createdAt, "users": snapshot.userCount,
        "items": snapshot.itemCount, "models": snapshot.modelKeys.joined(separator: ","),
        "seconds": formatSeconds(snapshot.loadSeconds),
      ])
  }

  /// The store now serving and its generation.
  public func snapshot() -> (StoreSnapshot, Int) {
    current.withLock { ($0, generation.load(ordering: .acquiring)) }
  }

  /// Reloads the store from `storePath`, keeping the current one when the
  /// new file fails validation. Reloads run one at a time.
  ///
  /// - Parameter trigger: what asked for the reload, for the log.
  public func reload(trigger: String) -> Reply {
    reloadLock.withLock { _ in
      let old = current.withLock { $0 }
      do {
        let snapshot = try FeatureStoreReader.load(path: storePath)
        current.withLock { $0 = snapshot }
        generation.add(1, ordering: .releasing)
        reloadCount.add(1, ordering: .relaxed)
        logger.info(
          "reloaded feature store",
          [
            "trigger": trigger, "created_at": snapshot.header.createdAt,
            "users": snapshot.userCount, "items": snapshot.itemCount,
            "seconds": formatSeconds(snapshot.loadSeconds),
          ])
        return .status(
          "OK reloaded users=\(snapshot.userCount) items=\(snapshot.itemCount) "
            + "created_at=\(snapshot.header.createdAt)")
      } catch {
        failedReloadCount.add(1, ordering: .relaxed)
        logger.error(
          "reload failed; still serving the previous store",
          ["trigger": trigger, "error": "\(error)", "serving_created_at": old.header.createdAt])
        return .error(
          "reload failed: \(error); still serving the store created at \(old.header.createdAt)")
      }
    }
  }

  /// Logs a malformed RESP request, after which its session closes. Repeats within 10
  /// seconds are counted, and the count is logged with the next one after that.
  func logProtocolError(_ error: RequestError, connectionID: UInt64?) {
    let connection = connectionID.map { String($0) } ?? "stdin"
    protocolErrorLimiter.withLock {
      $0.log(
        .warning, "closing connection after a RESP protocol error",
        ["connection": connection, "error": error.description], now: .now)
    }
  }

  /// Logs an error reading the store while serving. Repeats of `message` within 10 seconds
  /// are counted, and the count is logged with the next one after that.
  private func logStoreError(_ message: String, _ metadata: [String: any CustomStringConvertible]) {
    storeErrorLimiter.withLock { $0.log(.error, message, metadata, now: .now) }
  }

  /// Answers a request from `snapshot`. The session, which owns the connection, checks
  /// that RELOAD is permitted and closes the connection after QUIT.
  public func answer(_ request: Request, from snapshot: StoreSnapshot) -> Reply {
    do {
      return try answerOrThrow(request, from: snapshot)
    } catch {
      // Only a candidate-limited store reads users from the file while
      // serving; a blob that fails its checks fails this request only.
      logStoreError("cannot read the store", ["request": "\(request)", "error": "\(error)"])
      return .error("internal error: cannot read the stored scores: \(error)")
    }
  }

  private func answerOrThrow(_ request: Request, from snapshot: StoreSnapshot) throws -> Reply {
    switch request {
    case .score(let user, let item):
      let result = try snapshot.score(
        user: snapshot.users.index(of: user).map(Int.init),
        item: snapshot.items.index(of: item).map(Int.init))
      return .score(result.value, result.fallback)

    case .scores(let user, let items):
      let userIndex = snapshot.users.index(of: user).map(Int.init)
      return .scores(
        try items.map { item in
          let result = try snapshot.score(
            user: userIndex, item: snapshot.items.index(of: item).map(Int.init))
          return ScoredItem(item: item, score: result.value, fallback: result.fallback)
        })

    case .recommend(let user, let count):
      let userIndex = snapshot.users.index(of: user).map(Int.init)
      let fallback: Fallback =
        userIndex.map { snapshot.isModelled(user: $0) ? .none : .unknownUser } ?? .unknownUser
      let best = try snapshot.recommend(user: userIndex, count: count)
      return .recommendations(
        best.map {
          ScoredItem(item: snapshot.items.ids[$0.item], score: $0.score, fallback: fallback)
        }, fallback)

    case .explain(let user, let item):
      return explain(user: user, item: item, snapshot: snapshot)

    case .info:
      return .fields(info(snapshot))

    case .ping:
      return .status("PONG")

    case .echo(let message):
      return .message(message)

    case .reload:
      return reload(trigger: "request")

    case .quit:
      return .closing

    case .commandDocs:
      // NOTE: redis-cli builds its help and hints from this reply; an empty list leaves
      // them out but keeps it working.
      return .list([])

    case .configGet(let parameters):
      return .list(configuration(parameters))
    }
  }

  /// Returns the name and value of each parameter of `parameters` that the blender
  /// recognises, as Redis's CONFIG GET does. The blender keeps no data of its own, so `save`
  /// is empty and `appendonly` is `no`. redis-benchmark reads both before a run. Other
  /// names are left out.
  private func configuration(_ parameters: [String]) -> [String] {
    var reply: [String] = []
    for parameter in parameters {
      switch parameter.lowercased() {
      case "save": reply += ["save", ""]
      case "appendonly": reply += ["appendonly", "no"]
      default: continue
      }
    }
    return reply
  }

  private func explain(user: Int32, item: Int32, snapshot: StoreSnapshot) -> Reply {
    let userIndex = snapshot.users.index(of: user).map(Int.init)
    let itemIndex = snapshot.items.index(of: item).map(Int.init)
    do {
      let blended = try snapshot.score(user: userIndex, item: itemIndex)
      let scores = try snapshot.modelScores(user: userIndex, item: itemIndex)
      let support = snapshot.support(user: userIndex, item: itemIndex)
      let pair = snapshot.blend.terms(userSupport: support.user, itemSupport: support.item)
      let terms = zip(snapshot.modelKeys, zip(scores, pair.weights)).map {
        Explanation.Term(model: $0, score: $1.0, weight: $1.1)
      }
      return .explanation(
        Explanation(
          terms: terms, intercept: pair.intercept,
          unclipped: snapshot.blend.blend(
            scores, userSupport: support.user, itemSupport: support.item),
          result: blended.value, fallback: blended.fallback))
    } catch {
      logStoreError("cannot decode scores for EXPLAIN", ["user": user, "error": "\(error)"])
      return .error("internal error: cannot decode the stored scores for user \(user)")
    }
  }

  private func info(_ snapshot: StoreSnapshot) -> [(String, String)] {
    [
      ("format_version", String(snapshot.header.formatVersion)),
      ("created_at", snapshot.header.createdAt),
      ("dataset_fingerprint", String(snapshot.header.datasetFingerprint.prefix(16))),
      ("serve_fit", snapshot.header.serveFit),
      ("layout", snapshot.isDense ? "dense" : "candidates"),
      ("users", String(snapshot.userCount)),
      ("items", String(snapshot.itemCount)),
      ("models", snapshot.modelKeys.joined(separator: ",")),
      ("uptime_seconds", String(Int(startTime.seconds))),
      ("requests", String(requestCount.load(ordering: .relaxed))),
      ("errors", String(errorCount.load(ordering: .relaxed))),
      ("reloads", String(reloadCount.load(ordering: .relaxed))),
      ("failed_reloads", String(failedReloadCount.load(ordering: .relaxed))),
      ("connections", String(openConnections.load(ordering: .relaxed))),
    ]
  }
}
