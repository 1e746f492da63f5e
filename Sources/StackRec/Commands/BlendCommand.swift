import CLinux
import Glibc
import Synchronization

/// The `stackrec-blend` program: serve blended scores from a feature store
/// over standard input or TCP.
public enum BlendCommand {
  public static let overview = """
    Serve blended scores from a stackrec feature store over a line protocol, \
    reading requests from standard input or a TCP socket.
    """

  public static let specs: [OptionSpec] = [
    OptionSpec(
      "--store", ["PATH"],
      help: "Feature store to serve (default: artifacts/feature-store.sqlite)."),
    OptionSpec(
      "--listen", ["[HOST:]PORT"],
      help: "Serve TCP on this address, such as 7070 (loopback, 127.0.0.1) or 0.0.0.0:7070 "
        + "(every interface); port 0 picks a free port."),
    OptionSpec("--stdin", help: "Serve requests from standard input (the default without --listen)."),
    OptionSpec(
      "--max-line-length", ["BYTES"], help: "Longest accepted request line (default 8192)."),
    OptionSpec("--max-batch", ["N"], help: "Most items in one SCORES request (default 1000)."),
    OptionSpec("--max-k", ["N"], help: "Largest k for RECOMMEND (default 1000)."),
    OptionSpec(
      "--max-connections", ["N"],
      help: "Open TCP connections above which new ones are refused (default 1024)."),
    OptionSpec(
      "--idle-timeout", ["SECONDS"],
      help: "Close a TCP connection after this long without traffic (default 300)."),
    OptionSpec(
      "--request-timeout", ["SECONDS"],
      help: "Close a TCP connection that leaves a request incomplete this long (default 30)."),
    OptionSpec(
      "--threads", ["N"], help: "TCP event-loop threads (default: the number of cores)."),
    OptionSpec(
      "--admin-from", ["loopback|any|none"],
      help: "Which TCP clients may send RELOAD (default loopback). Standard input always may."),
    OptionSpec("--quiet", help: "Log only warnings and errors."),
  ]

  public struct Settings: Sendable {
    public var storePath = "artifacts/feature-store.sqlite"
    public var listen: (host: String, port: Int)?
    public var limits = Blender.Limits()
    public var server = ServerConfiguration()
    public var adminFrom = AdminPolicy.loopback
    public var quiet = false
    public var showHelp = false
  }

  public static func main(_ arguments: [String]) -> Int32 {
    let settings: Settings
    do {
      settings = try parse(Array(arguments.dropFirst()))
    } catch {
      printError("\(error)")
      printError("run 'stackrec-blend --help' for the options")
      return 64
    }
    if settings.showHelp {
      print(
        helpText(program: "stackrec-blend", overview: overview, usage: "[options]", specs: specs),
        terminator: "")
      return 0
    }
    signal(SIGPIPE, SIG_IGN)
    let logger = Logger(label: "blend", threshold: settings.quiet ? .warning : .info)
    guard settings.listen != nil else {
      guard let blender = loadBlender(settings, logger: logger) else { return 1 }
      return StdinServer.run(blender: blender)
    }
    return serveTCP(settings, logger: logger)
  }

  private static func loadBlender(_ settings: Settings, logger: Logger) -> Blender? {
    do {
      return try Blender(storePath: settings.storePath, limits: settings.limits, logger: logger)
    } catch {
      printError("\(error)")
      return nil
    }
  }

  /// Which TCP clients may use administrative commands.
  public enum AdminPolicy: String, Sendable, CaseIterable {
    case loopback, any, none

    func permits(_ peer: SocketAddress) -> Bool {
      switch self {
      case .loopback: return peer.isLoopback
      case .any: return true
      case .none: return false
      }
    }
  }

  /// The running service, as seen from the signal-watching thread.
  private final class Service: Sendable {
    let blender = Mutex<Blender?>(nil)
    let server = Mutex<TCPServer?>(nil)
    let stopRequested = Atomic<Bool>(false)
  }

  /// Serves TCP until SIGTERM or SIGINT; SIGHUP reloads the store.
  static func serveTCP(_ settings: Settings, logger: Logger) -> Int32 {
    // The watcher must exist before any other thread starts (loading the
    // store uses worker threads), so that every thread leaves the signals
    // to it.
    let service = Service()
    let watcher: SignalWatcher
    do {
      watcher = try SignalWatcher(
        onTerminate: { signal in
          logger.info("shutting down", ["signal": signal == SIGTERM ? "SIGTERM" : "SIGINT"])
          service.stopRequested.store(true, ordering: .releasing)
          service.server.withLock { $0?.stop() }
        },
        onReload: {
          guard let blender = service.blender.withLock({ $0 }) else { return }
          _ = blender.reload(trigger: "SIGHUP")
        })
    } catch {
      printError("cannot watch signals: \(error)")
      return 1
    }
    defer { watcher.cancel() }

    // glibc raises its mmap threshold to the size of each freed mmap block (mallopt(3)), so
    // after a reload the next store's arrays would come from the heap and stay resident
    // once freed. A fixed threshold keeps every store's large arrays in mmap blocks, which
    // return to the system when a reload frees them.
    mallopt(M_MMAP_THRESHOLD, 128 << 10)
    guard let blender = loadBlender(settings, logger: logger) else { return 1 }
    service.blender.withLock { $0 = blender }
    let policy = settings.adminFrom
    raiseDescriptorLimit(for: settings.server.maxConnections, logger: logger)
    let server: TCPServer
    do {
      server = try TCPServer(configuration: settings.server, logger: logger) { connection in
        BlendSession(
          blender: blender, allowsAdministration: policy.permits(connection.peer),
          connectionID: connection.id)
      }
    } catch {
      printError("\(error)")
      return 1
    }
    service.server.withLock { $0 = server }
    if service.stopRequested.load(ordering: .acquiring) { server.stop() }
    server.run()
    logger.info("stopped")
    return 0
  }

  public static func parse(_ arguments: [String]) throws -> Settings {
    let options = try ParsedOptions.parse(arguments, specs: specs)
    var settings = Settings()
    settings.showHelp = options.has("--help")
    if let path = options.string("--store") { settings.storePath = path }
    if let address = options.string("--listen") {
      if options.has("--stdin") {
        throw UsageError("--listen and --stdin cannot be combined; pick one")
      }
      settings.listen = try parseAddress(address)
    }
    if let value = try options.integer("--max-line-length", in: 16...1 << 20) {
      settings.limits.maxLineLength = value
    }
    if let listen = settings.listen {
      settings.server.host = listen.host
      settings.server.port = listen.port
    }
    if let value = try options.integer("--max-connections", in: 1...1_000_000) {
      settings.server.maxConnections = value
    }
    if let value = try options.integer("--idle-timeout", in: 1...86_400) {
      settings.server.idleTimeout = .seconds(value)
    }
    if let value = try options.integer("--request-timeout", in: 1...86_400) {
      settings.server.requestTimeout = .seconds(value)
    }
    if let value = try options.integer("--threads", in: 1...256) {
      settings.server.eventLoops = value
    }
    if let value = try options.choice(
      "--admin-from", from: AdminPolicy.allCases.map(\.rawValue))
    {
      settings.adminFrom = AdminPolicy(rawValue: value)!
    }
    if let value = try options.integer("--max-batch", in: 1...1_000_000) {
      settings.limits.maxBatch = value
    }
    if let value = try options.integer("--max-k", in: 1...1_000_000) {
      settings.limits.maxCount = value
      settings.limits.defaultCount = min(settings.limits.defaultCount, value)
    }
    settings.quiet = options.has("--quiet")
    return settings
  }

  /// Raises the soft limit on open files to fit `connections` sockets plus
  /// the store and the server's own descriptors, up to the hard limit.
  /// Warns when the limit still falls short, because clients past it would
  /// wait in the listen backlog instead of getting `ERR too many connections`.
  static func raiseDescriptorLimit(for connections: Int, logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let required = rlim_t(connections + 64)
    if limit.rlim_cur < required {
      var raised = limit
      raised.rlim_cur = min(required, limit.rlim_max)
      if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    if limit.rlim_cur < rlim_t(connections + 16) {
      logger.warning(
        "the open-file limit is below --max-connections; raise the hard limit (ulimit -Hn, "
          + "or LimitNOFILE= under systemd) or lower "
          + "--max-connections, or clients past the limit will wait without an error",
        ["open_file_limit": Int(limit.rlim_cur), "max_connections": connections])
    }
  }

  /// Splits `HOST:PORT`, where HOST may be an IPv6 address in brackets; a
  /// bare port means loopback.
  static func parseAddress(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":") else {
      guard let port = Int(text), (0...65535).contains(port) else {
        throw UsageError(
          "invalid address '\(text)' for --listen: expected [HOST:]PORT with a port from 0 to "
            + "65535, such as 7070 or 127.0.0.1:7070")
      }
      return ("127.0.0.1", port)
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
    else {
      throw UsageError(
        "invalid address '\(text)' for --listen: expected HOST:PORT with a port from 0 to 65535")
    }
    return (host, port)
  }
}
