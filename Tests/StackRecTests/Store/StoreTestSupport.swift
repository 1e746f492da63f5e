import Foundation
import Testing

@testable import StackRec

/// A scratch directory for one test under the system's temporary directory.
struct StoreTestDirectory {
  let path: String

  /// Runs `body` with a fresh, empty directory, then removes the directory
  /// and everything in it.
  static func with<T>(_ body: (StoreTestDirectory) throws -> T) throws -> T {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/stackrec-store-test-XXXXXX".utf8CString)
    let created = try #require(mkdtemp(&template), "mkdtemp failed under \(base)")
    let directory = StoreTestDirectory(path: String(cString: created))
    defer { try? FileManager.default.removeItem(atPath: directory.path) }
    return try body(directory)
  }

  /// The path of `name` inside the directory.
  func file(_ name: String) -> String {
    path + "/" + name
  }

  /// The names of the directory's entries, sorted.
  func entries() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }
}

/// Reads a whole file.
func readStoreTestFile(_ path: String) throws -> [UInt8] {
  Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Replaces a file's content in place.
func writeStoreTestFile(_ path: String, _ bytes: [UInt8]) throws {
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Feature store content with known scores, and the blend computed from it
/// without going through the store.
enum StoreFixtures {
  static let ratingScale: ClosedRange<Float> = 0.5...5
  static let blend = BlendModel(intercept: -0.2, weights: [0.35, 0.5, 0.25])

  /// Random content with three models, each stored against a different
  /// kind of basis:
  ///
  /// - `exact`: the scores are its rank-2 basis, so every residual is zero.
  /// - `additive`: uniform scores in the rating scale, with the basis from
  ///   `ScoreBasis.additive`.
  /// - `noisy`: a rank-3 basis plus Gaussian noise (standard deviation 0.3),
  ///   and 12 above or below it for two pairs, whose blend falls outside
  ///   the rating scale.
  ///
  /// About one user and item in six has support 0; ids are ascending with
  /// gaps; each user has rated about a third of the items.
  static func randomContent(
    seed: UInt64, userCount: Int = 40, itemCount: Int = 30,
    createdAt: String = "2026-01-02T03:04:05.678Z"
  ) -> FeatureStoreContent {
    var generator = SeededGenerator(seed: seed)
    func uniform(_ range: ClosedRange<Float>) -> Float {
      range.lowerBound + Float(generator.nextUnit()) * (range.upperBound - range.lowerBound)
    }
    func ascendingIDs(_ count: Int) -> [Int32] {
      var ids: [Int32] = []
      var next: Int32 = 1
      for _ in 0..<count {
        next += Int32(generator.nextInt(below: 5))
        ids.append(next)
        next += 1
      }
      return ids
    }
    func supports(_ count: Int) -> [Int32] {
      (0..<count).map { _ in
        generator.nextInt(below: 6) == 0 ? 0 : Int32(1 + generator.nextInt(below: 40))
      }
    }
    func randomBasis(rank: Int, scale: ClosedRange<Float>) -> ScoreBasis {
      ScoreBasis(
        rank: rank, userTerms: (0..<userCount * rank).map { _ in uniform(scale) },
        itemTerms: (0..<itemCount * rank).map { _ in uniform(scale) })
    }
    func fallbacks(_ count: Int) -> [Float] {
      (0..<count).map { _ in uniform(1...4.5) }
    }

    let exactBasis = randomBasis(rank: 2, scale: 0.3...1.6)
    let exactScores = (0..<userCount * itemCount).map {
      baseValue(exactBasis, user: $0 / itemCount, item: $0 % itemCount)
    }
    let exact = StoredModel(
      key: "exact", scores: exactScores, basis: exactBasis,
      unknownUserScores: fallbacks(itemCount), unknownItemScores: fallbacks(userCount),
      unknownUserAndItemScore: 3.25)

    let additiveScores = (0..<userCount * itemCount).map { _ in uniform(ratingScale) }
    let additiveBasis = additiveScores.withUnsafeBufferPointer {
      ScoreBasis.additive(scores: $0, userCount: userCount, itemCount: itemCount)
    }
    let additive = StoredModel(
      key: "additive", scores: additiveScores, basis: additiveBasis,
      unknownUserScores: fallbacks(itemCount), unknownItemScores: fallbacks(userCount),
      unknownUserAndItemScore: 2.75)

    let noisyBasis = randomBasis(rank: 3, scale: 0.2...1.3)
    var noisyScores = (0..<userCount * itemCount).map {
      baseValue(noisyBasis, user: $0 / itemCount, item: $0 % itemCount)
        + Float(generator.nextGaussian(standardDeviation: 0.3))
    }
    // Two outliers push the blend above and below the rating scale.
    noisyScores[0] += 12
    noisyScores[itemCount + 1] -= 12
    let noisy = StoredModel(
      key: "noisy", scores: noisyScores, basis: noisyBasis,
      unknownUserScores: fallbacks(itemCount), unknownItemScores: fallbacks(userCount),
      unknownUserAndItemScore: 3.5)

    let ratedItems = (0..<userCount).map { _ in
      (0..<Int32(itemCount)).filter { _ in generator.nextInt(below: 3) == 0 }
    }
    let titles = (0..<itemCount).map { item in
      item % 7 == 3 ? "Amélie, le film \(item) (2001)" : "Movie \(item) (19\(70 + item % 30))"
    }
    return FeatureStoreContent(
      createdAt: createdAt, datasetFingerprint: String(repeating: "5eed", count: 16),
      serveFit: "base", ratingScale: ratingScale, userIDs: ascendingIDs(userCount),
      itemIDs: ascendingIDs(itemCount), titles: titles, userSupport: supports(userCount),
      itemSupport: supports(itemCount), ratedItems: ratedItems,
      models: [exact, additive, noisy], blend: blend)
  }

  /// `sum_k userTerms[user, k] * itemTerms[item, k]` in `Float`, in
  /// ascending `k`.
  static func baseValue(_ basis: ScoreBasis, user: Int, item: Int) -> Float {
    var sum: Float = 0
    for k in 0..<basis.rank {
      sum += basis.userTerms[user * basis.rank + k] * basis.itemTerms[item * basis.rank + k]
    }
    return sum
  }

  /// Every model's score for one stored pair.
  static func modelScores(_ content: FeatureStoreContent, user: Int, item: Int) -> [Float] {
    content.models.map { $0.scores[user * content.itemCount + item] }
  }

  /// `intercept + sum_m weight_m * score_m`, unclipped.
  static func blended(_ content: FeatureStoreContent, _ scores: [Float]) -> Double {
    var value = content.blend.intercept
    for (weight, score) in zip(content.blend.weights, scores) {
      value += weight * Double(score)
    }
    return value
  }

  /// `value` limited to the content's rating scale.
  static func clipped(_ content: FeatureStoreContent, _ value: Double) -> Double {
    min(max(value, Double(content.ratingScale.lowerBound)), Double(content.ratingScale.upperBound))
  }

  /// How far a blended score may move when each model score moves by up to
  /// the writer's tolerance, plus room for rounding the blend to `Float`.
  static func blendTolerance(_ content: FeatureStoreContent) -> Double {
    let weightSum = content.blend.weights.reduce(0) { $0 + abs($1) }
    return Double(FeatureStoreWriter.tolerance) * weightSum + 1e-5
  }
}
