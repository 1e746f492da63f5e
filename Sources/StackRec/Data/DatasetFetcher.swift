import Foundation
import Synchronization

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Makes sure that a MovieLens directory exists, downloading and unpacking the dataset's .zip
/// archive when it does not.
///
/// The archive is read into memory, checked against its SHA-256 digest and unpacked with
/// `ZipArchive` into the parent of the data directory, because the official archives contain
/// one top-level folder named after the dataset (`ml-latest-small/`). A failed fetch writes
/// nothing, and a failed unpack removes what it wrote.
public enum DatasetFetcher {
  /// The MovieLens "latest small" dataset: 100,836 ratings of 9,742 movies.
  public static let defaultURL =
    "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"

  /// The SHA-256 digest of the archive at `defaultURL`.
  public static let defaultSHA256 =
    "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"

  /// Seconds an HTTP request may wait for the next bytes before it fails.
  public static let requestTimeout: Double = 60

  /// Seconds an HTTP download may take in total before it fails.
  public static let downloadTimeout: Double = 600

  /// Downloads and unpacks the dataset unless `directory/ratings.csv` already exists.
  ///
  /// HTTP requests follow redirects and block the calling thread until they finish or time
  /// out. When `url` is `defaultURL` and no hash is given, `defaultSHA256` is checked. With
  /// another URL and no hash, the download is used unverified and a warning is logged.
  ///
  /// - Parameters:
  ///   - directory: The MovieLens directory, such as `data/ml-latest-small`. Its last
  ///     component must match the archive's top-level folder.
  ///   - url: A `file://`, `http://` or `https://` URL of the .zip archive.
  ///   - expectedSHA256: The archive's SHA-256 digest as 64 hexadecimal digits, or nil.
  ///   - logger: Receives a line for each step.
  /// - Throws: `FetchError` when the archive cannot be fetched, has the wrong digest, cannot
  ///   be unpacked, or does not contain `ratings.csv` in a folder named like `directory`.
  public static func ensureDataset(
    directory: String, url: String, expectedSHA256: String?, logger: Logger
  ) throws {
    let ratingsPath = (directory as NSString).appendingPathComponent("ratings.csv")
    if FileManager.default.fileExists(atPath: ratingsPath) {
      logger.debug("dataset present", ["directory": directory])
      return
    }

    let expected = try expectedHash(for: url, explicitHash: expectedSHA256)
    logger.info("dataset not found, fetching the archive", ["directory": directory, "url": url])
    let stopwatch = Stopwatch()
    let bytes = try fetch(url: url, directory: directory)
    logger.info("fetched the archive", ["bytes": bytes.count, "elapsed": stopwatch.formatted])

    let actual = SHA256.hexDigest(bytes)
    if let expected {
      guard actual == expected else {
        throw FetchError.hashMismatch(
          url: url, expected: expected, actual: actual, directory: directory)
      }
      logger.debug("SHA-256 verified", ["sha256": actual])
    } else {
      logger.warning(
        "no SHA-256 given, so the download is not verified; pass --data-sha256 to verify it",
        ["sha256": actual])
    }

    try unpack(bytes, url: url, directory: directory, logger: logger)

    // The archive contains the file, so this fails only if something removed it since.
    guard FileManager.default.fileExists(atPath: ratingsPath) else {
      throw FetchError.datasetNotInArchive(url: url, directory: directory, topLevelNames: [])
    }
    logger.info("dataset ready", ["directory": directory, "elapsed": stopwatch.formatted])
  }

  /// Returns the digest to check for `url` in lowercase: `explicitHash` if there is one, else
  /// `defaultSHA256` for `defaultURL`, else nil.
  ///
  /// - Throws: `FetchError.invalidExpectedHash` when `explicitHash` is not 64 hexadecimal
  ///   digits.
  static func expectedHash(for url: String, explicitHash: String?) throws -> String? {
    let hash = explicitHash ?? (url == defaultURL ? defaultSHA256 : nil)
    guard let hash else { return nil }
    let lowercased = hash.lowercased()
    guard lowercased.utf8.count == 64, lowercased.allSatisfy(\.isHexDigit) else {
      throw FetchError.invalidExpectedHash(value: hash)
    }
    return lowercased
  }

  /// Unpacks the archive into the parent of `directory`, after checking that it contains
  /// `ratings.csv` in a folder with the directory's name.
  private static func unpack(
    _ bytes: [UInt8], url: String, directory: String, logger: Logger
  ) throws {
    let folder = (directory as NSString).lastPathComponent
    let parent = (directory as NSString).deletingLastPathComponent
    let destination = parent.isEmpty ? "." : parent

    do {
      let archive = try ZipArchive(bytes: bytes, path: url)
      guard archive.entry(named: folder + "/ratings.csv") != nil else {
        var topLevelNames: [String] = []
        for entry in archive.entries {
          let name = String(entry.name.prefix { $0 != "/" })
          if !topLevelNames.contains(name) {
            topLevelNames.append(name)
          }
        }
        throw FetchError.datasetNotInArchive(
          url: url, directory: directory, topLevelNames: topLevelNames)
      }
      logger.info(
        "unpacking", ["destination": destination, "entries": archive.entries.count])
      try archive.extractAll(to: destination)
    } catch let error as ArchiveError {
      throw FetchError.unpackFailed(url: url, directory: directory, error: error)
    }
  }
}

// MARK: - Fetching

extension DatasetFetcher {
  /// Returns the bytes behind a `file://`, `http://` or `https://` URL.
  static func fetch(url: String, directory: String) throws -> [UInt8] {
    guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased() else {
      throw FetchError.unsupportedURL(
        url: url, reason: "it is not a valid URL; expected file://, http:// or https://")
    }

    switch scheme {
    case "file":
      // A host would be silently dropped: file://data/x.zip names /x.zip on the host "data".
      guard (parsed.host ?? "").isEmpty || parsed.host == "localhost" else {
        throw FetchError.unsupportedURL(
          url: url,
          reason: "a file URL needs an absolute path, such as file:///data/ml-latest-small.zip")
      }
      return try readFile(parsed.path, url: url, directory: directory)
    case "http", "https":
      return try download(parsed, directory: directory)
    default:
      throw FetchError.unsupportedURL(
        url: url, reason: "the scheme '\(scheme)' is not supported; use file, http or https")
    }
  }

  /// Reads a whole file with `open` and `read`, so that errors carry the system's reason.
  private static func readFile(_ path: String, url: String, directory: String) throws -> [UInt8] {
    func failure(_ code: Int32) -> FetchError {
      FetchError.unreadableFile(
        url: url, path: path, reason: String(cString: strerror(code)), directory: directory)
    }

    let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw failure(errno) }
    defer { _ = Glibc.close(descriptor) }

    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw failure(errno) }
    guard status.st_mode & S_IFMT != S_IFDIR else { throw failure(EISDIR) }

    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(status.st_size))
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count >= 0 else { throw failure(errno) }
      if count == 0 { return bytes }
      bytes += chunk[0..<count]
    }
  }

  /// The outcome of one HTTP request, handed from URLSession's queue to the waiting caller.
  private final class DownloadResult: Sendable {
    struct Value: Sendable {
      var data: Data?
      var status: Int?
      var errorText: String?
    }

    let value = Mutex(Value())
  }

  /// Downloads a URL with URLSession, following redirects, and waits for the result.
  private static func download(_ url: URL, directory: String) throws -> [UInt8] {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = requestTimeout
    configuration.timeoutIntervalForResource = downloadTimeout
    let session = URLSession(configuration: configuration)
    defer { session.finishTasksAndInvalidate() }

    let result = DownloadResult()
    let finished = DispatchSemaphore(value: 0)
    let task = session.dataTask(with: URLRequest(url: url)) { data, response, error in
      result.value.withLock { value in
        value.data = data
        value.status = (response as? HTTPURLResponse)?.statusCode
        value.errorText = error.map { $0.localizedDescription }
      }
      finished.signal()
    }
    task.resume()
    finished.wait()

    let value = result.value.withLock { $0 }
    if let errorText = value.errorText {
      throw FetchError.networkFailure(
        url: url.absoluteString, reason: errorText, directory: directory)
    }
    guard let status = value.status, let data = value.data else {
      throw FetchError.networkFailure(
        url: url.absoluteString, reason: "the server sent no HTTP response",
        directory: directory)
    }
    guard status == 200 else {
      throw FetchError.httpStatus(url: url.absoluteString, status: status, directory: directory)
    }
    return [UInt8](data)
  }
}

// MARK: - Errors

/// A reason why the dataset could not be fetched or unpacked.
///
/// The description of each failure to obtain the archive also explains how to place the
/// files by hand.
public enum FetchError: Error, CustomStringConvertible, Equatable {
  case unsupportedURL(url: String, reason: String)
  case invalidExpectedHash(value: String)
  case unreadableFile(url: String, path: String, reason: String, directory: String)
  case networkFailure(url: String, reason: String, directory: String)
  case httpStatus(url: String, status: Int, directory: String)
  case hashMismatch(url: String, expected: String, actual: String, directory: String)
  case unpackFailed(url: String, directory: String, error: ArchiveError)
  case datasetNotInArchive(url: String, directory: String, topLevelNames: [String])

  public var description: String {
    switch self {
    case .unsupportedURL(let url, let reason):
      return "cannot fetch the dataset from \(url): \(reason)"
    case .invalidExpectedHash(let value):
      return
        "invalid expected SHA-256 '\(excerpt(value))': expected 64 hexadecimal digits"
    case .unreadableFile(let url, let path, let reason, let directory):
      return
        "cannot read the dataset archive \(path): \(reason). "
        + Self.manualSteps(url: url, directory: directory)
    case .networkFailure(let url, let reason, let directory):
      return
        "download of \(url) failed: \(reason). " + Self.manualSteps(url: url, directory: directory)
    case .httpStatus(let url, let status, let directory):
      return
        "download of \(url) failed: the server responded with HTTP status \(status). "
        + Self.manualSteps(url: url, directory: directory)
    case .hashMismatch(let url, let expected, let actual, let directory):
      return
        "the archive from \(url) has SHA-256 \(actual) but \(expected) was expected, so it "
        + "is damaged or is a different file. "
        + Self.manualSteps(url: url, directory: directory)
    case .unpackFailed(let url, let directory, let error):
      return
        "cannot unpack the archive from \(url): \(error). "
        + Self.manualSteps(url: url, directory: directory)
    case .datasetNotInArchive(let url, let directory, let topLevelNames):
      let folder = (directory as NSString).lastPathComponent
      let names = topLevelNames.map { excerpt($0) }.joined(separator: ", ")
      let found = topLevelNames.isEmpty ? "" : " Its top-level entries are: \(names)."
      return
        "the archive from \(url) does not contain \(folder)/ratings.csv, so unpacking it "
        + "cannot create \(directory)/ratings.csv.\(found) Pass --data DIR where the last "
        + "component of DIR is the archive's top-level folder."
    }
  }

  /// Explains how to download and unpack the archive by hand.
  private static func manualSteps(url: String, directory: String) -> String {
    let parent = (directory as NSString).deletingLastPathComponent
    let fileName = (url as NSString).lastPathComponent
    return
      "To place the files by hand, download \(url) with a browser or "
      + "`curl -L -o \(fileName) \(url)`, then run `unzip \(fileName) -d "
      + "\(parent.isEmpty ? "." : parent)` so that \(directory)/ratings.csv exists, "
      + "or pass --data DIR pointing at an existing MovieLens directory."
  }
}
