/// A problem writing or reading a feature store.
public enum StoreError: Error, CustomStringConvertible, Equatable {
  /// A score that cannot be stored: NaN, infinite, or far outside any scale.
  case invalidScore(model: String, user: Int, item: Int, value: Float)
  /// A fallback score that is NaN or infinite. `index` is the item index
  /// for an unknown user, the user index for an unknown item, and 0 when
  /// both are unknown.
  case invalidFallback(model: String, fallback: Fallback, index: Int, value: Float)
  /// A meta-model value that the reader would reject: NaN, infinite, or a
  /// feature scale that is not positive.
  case invalidBlend(term: String, value: Double)
  /// A blob's layout does not parse; the reason says where.
  case corruptBlob(String)
  /// A store path where no file exists.
  case notFound(path: String)
  /// A file that is not a stackrec feature store.
  case foreignFile(path: String, reason: String)
  /// A store written by a newer or older, incompatible stackrec.
  case unsupportedVersion(path: String, found: Int, supported: Int)
  /// A store whose content fails validation.
  case corrupt(path: String, reason: String)
  /// A store whose checksum does not match its content.
  case checksumMismatch(path: String, part: String)
  /// Another process holds the store's write lock.
  case locked(path: String, lockPath: String)

  public var description: String {
    switch self {
    case .invalidScore(let model, let user, let item, let value):
      return
        "model \(model) produced the score \(value) for user index \(user), item index \(item); "
        + "only finite scores can be stored"
    case .invalidFallback(let model, let fallback, let index, let value):
      let subject =
        switch fallback {
        case .unknownUser: "an unknown user at item index \(index)"
        case .unknownItem: "an unknown item at user index \(index)"
        case .none, .unknownUserAndItem, .notCandidate: "an unknown user and item"
        }
      return
        "model \(model) produced the fallback score \(value) for \(subject); "
        + "only finite scores can be stored"
    case .invalidBlend(let term, let value):
      return
        "the meta-model's \(term) is \(value); only finite values (and positive scales) "
        + "can be stored"
    case .corruptBlob(let reason):
      return "corrupt score blob: \(reason)"
    case .notFound(let path):
      return
        "\(path): feature store not found; check the path, "
        + "or run stackrec-precompute --out \(path) to create it"
    case .foreignFile(let path, let reason):
      return "\(path): not a stackrec feature store: \(reason); run stackrec-precompute to create one"
    case .unsupportedVersion(let path, let found, let supported):
      let advice = found > supported
        ? "upgrade stackrec-blend" : "rerun stackrec-precompute to rewrite the store"
      return
        "\(path): feature store format version \(found) is not supported "
        + "(this build reads version \(supported)); \(advice)"
    case .corrupt(let path, let reason):
      return "\(path): corrupt feature store: \(reason); rerun stackrec-precompute to rewrite it"
    case .checksumMismatch(let path, let part):
      return
        "\(path): corrupt feature store: checksum mismatch in \(part); "
        + "rerun stackrec-precompute to rewrite it"
    case .locked(let path, let lockPath):
      return
        "\(path): another stackrec-precompute is writing this store (lock \(lockPath) is held); "
        + "wait for it to finish or pass --wait-lock"
    }
  }
}
