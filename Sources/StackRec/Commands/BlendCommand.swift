import Glibc

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
      "--listen", ["HOST:PORT"],
      help: "Serve TCP on this address, such as 127.0.0.1:7070; port 0 picks a free port."),
    OptionSpec("--stdin", help: "Serve requests from standard input (the default without --listen)."),
    OptionSpec(
      "--max-line-length", ["BYTES"], help: "Longest accepted request line (default 8192)."),
    OptionSpec("--max-batch", ["N"], help: "Most items in one SCORES request (default 1000)."),
    OptionSpec("--max-k", ["N"], help: "Largest k for RECOMMEND (default 1000)."),
    OptionSpec("--quiet", help: "Log only warnings and errors."),
  ]

  public struct Settings: Sendable {
    public var storePath = "artifacts/feature-store.sqlite"
    public var listen: (host: String, port: Int)?
    public var limits = Blender.Limits()
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
    let blender: Blender
    do {
      blender = try Blender(storePath: settings.storePath, limits: settings.limits, logger: logger)
    } catch {
      printError("\(error)")
      return 1
    }
    guard settings.listen != nil else {
      return StdinServer.run(blender: blender)
    }
    printError("TCP mode is not available in this build")
    return 1
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

  /// Splits `HOST:PORT`, where HOST may be an IPv6 address in brackets.
  static func parseAddress(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":") else {
      throw UsageError("invalid address '\(text)' for --listen: expected HOST:PORT, such as 127.0.0.1:7070")
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
