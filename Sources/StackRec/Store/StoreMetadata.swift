/// The metadata rows of a feature store and the checksums that protect the
/// tables without a checksum column of their own.
enum StoreMetadata {
  static let format = "stackrec-feature-store"

  /// The metadata rows for `content`, ending with `metadata_checksum`, the
  /// CRC-32 of every row before it and of the item table.
  static func entries(for content: FeatureStoreContent) -> [(String, String)] {
    var rows: [(String, String)] = [
      ("format", format),
      ("format_version", String(FeatureStoreWriter.formatVersion)),
      ("created_at", content.createdAt),
      ("dataset_fingerprint", content.datasetFingerprint),
      ("serve_fit", content.serveFit),
      ("rating_min", String(content.ratingScale.lowerBound)),
      ("rating_max", String(content.ratingScale.upperBound)),
      ("quantisation_step", String(FeatureStoreWriter.step)),
      ("user_count", String(content.userCount)),
      ("item_count", String(content.itemCount)),
      ("model_count", String(content.models.count)),
      ("layout", content.candidateCount == nil ? "dense" : "candidates"),
      ("candidate_count", String(content.candidateCount ?? content.itemCount)),
    ]
    rows += blendEntries(content.blend)
    rows.sort { $0.0 < $1.0 }
    let checksum = checksum(
      metadata: rows, itemIDs: content.itemIDs, itemSupport: content.itemSupport,
      titles: content.titles)
    rows.append(("metadata_checksum", String(checksum)))
    return rows
  }

  /// The meta-model as metadata rows: comma-separated numbers in Swift's
  /// shortest round-trip form, models separated by semicolons.
  static func blendEntries(_ blend: BlendModel) -> [(String, String)] {
    func list(_ values: [Double]) -> String { values.map { String($0) }.joined(separator: ",") }
    return [
      ("meta_features", blend.features.map(\.rawValue).joined(separator: ",")),
      ("meta_centers", list(blend.centers)),
      ("meta_scales", list(blend.scales)),
      ("meta_intercepts", list(blend.intercepts)),
      ("meta_coefficients", blend.coefficients.map(list).joined(separator: ";")),
    ]
  }

  /// Parses the meta-model rows written by `blendEntries`, or returns nil
  /// when they are missing or malformed.
  static func parseBlend(_ metadata: [String: String], modelCount: Int) -> BlendModel? {
    func list(_ text: String?) -> [Double]? {
      guard let text else { return nil }
      let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
      guard values.allSatisfy({ $0?.isFinite == true }) else { return nil }
      return values.map { $0! }
    }
    guard
      let names = metadata["meta_features"]?.split(separator: ",").map({ MetaFeature(rawValue: String($0)) }),
      names.allSatisfy({ $0 != nil }), names.first == .constant,
      let centers = list(metadata["meta_centers"]),
      let scales = list(metadata["meta_scales"]),
      let intercepts = list(metadata["meta_intercepts"]),
      let rows = metadata["meta_coefficients"]?.split(separator: ";", omittingEmptySubsequences: false)
    else { return nil }
    let coefficients = rows.map { list(String($0)) }
    let count = names.count
    guard centers.count == count, scales.count == count, intercepts.count == count,
      scales.allSatisfy({ $0 > 0 }), coefficients.count == modelCount,
      coefficients.allSatisfy({ $0?.count == count })
    else { return nil }
    return BlendModel(
      features: names.map { $0! }, centers: centers, scales: scales, intercepts: intercepts,
      coefficients: coefficients.map { $0! })
  }

  /// The CRC-32 of the metadata rows (sorted by key, without the checksum
  /// row) followed by every item row.
  static func checksum(
    metadata: [(String, String)], itemIDs: [Int32], itemSupport: [Int32], titles: [String]
  ) -> UInt32 {
    var bytes: [UInt8] = []
    for (key, value) in metadata.sorted(by: { $0.0 < $1.0 }) where key != "metadata_checksum" {
      bytes += Array(key.utf8) + [0] + Array(value.utf8) + [0]
    }
    var crc = Zlib.crc32(bytes)
    for item in 0..<itemIDs.count {
      bytes.removeAll(keepingCapacity: true)
      appendUInt32(&bytes, UInt32(bitPattern: itemIDs[item]))
      appendUInt32(&bytes, UInt32(bitPattern: itemSupport[item]))
      bytes += Array(titles[item].utf8) + [0]
      crc = Zlib.crc32(bytes, initial: crc)
    }
    return crc
  }

  /// A model's shared data as raw little-endian `Float`s: basis user terms,
  /// basis item terms, unknown-user scores, unknown-item scores, and the
  /// score for both unknown.
  static func modelData(_ model: StoredModel) -> [UInt8] {
    var floats = model.basis.userTerms
    floats += model.basis.itemTerms
    floats += model.unknownUserScores
    floats += model.unknownItemScores
    floats.append(model.unknownUserAndItemScore)
    return floats.withUnsafeBytes { Array($0) }
  }

  /// The parts of a model's shared data.
  struct ModelData {
    var basis: ScoreBasis
    var unknownUserScores: [Float]
    var unknownItemScores: [Float]
    var unknownUserAndItemScore: Float
  }

  /// Splits a model's shared data, checking its length.
  static func parseModelData(_ bytes: [UInt8], rank: Int, userCount: Int, itemCount: Int)
    -> ModelData?
  {
    let expected = (userCount * rank + itemCount * rank + itemCount + userCount + 1) * 4
    guard rank >= 1, bytes.count == expected else { return nil }
    let floats = bytes.withUnsafeBytes { raw in
      (0..<raw.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }
    var offset = 0
    func take(_ count: Int) -> [Float] {
      defer { offset += count }
      return Array(floats[offset..<offset + count])
    }
    let userTerms = take(userCount * rank)
    let itemTerms = take(itemCount * rank)
    return ModelData(
      basis: ScoreBasis(rank: rank, userTerms: userTerms, itemTerms: itemTerms),
      unknownUserScores: take(itemCount), unknownItemScores: take(userCount),
      unknownUserAndItemScore: floats[offset])
  }
}
