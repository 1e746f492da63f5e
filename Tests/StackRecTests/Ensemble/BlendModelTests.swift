import Glibc
import Testing

@testable import StackRec

@Suite struct BlendModelTests {
  enum FeatureSet: String, CaseIterable, Sendable, CustomStringConvertible {
    case constantOnly, userThenItem, itemThenUser, itemOnly

    var description: String { rawValue }

    var features: [MetaFeature] {
      switch self {
      case .constantOnly: [.constant]
      case .userThenItem: [.constant, .logUserSupport, .logItemSupport]
      case .itemThenUser: [.constant, .logItemSupport, .logUserSupport]
      case .itemOnly: [.constant, .logItemSupport]
      }
    }
  }

  /// Builds a blend of three models with random terms, centres and
  /// positive scales.
  static func randomBlend(_ features: [MetaFeature], seed: UInt64) -> BlendModel {
    var generator = SeededGenerator(seed: seed)
    func draw() -> Double { 2 * generator.nextUnit() - 1 }
    let count = features.count
    let centers = (0..<count).map { $0 == 0 ? 0 : 3 + draw() }
    let scales = (0..<count).map { $0 == 0 ? 1 : 1.5 + draw() }
    let intercepts = (0..<count).map { _ in draw() }
    let coefficients = (0..<3).map { _ in (0..<count).map { _ in draw() } }
    return BlendModel(
      features: features, centers: centers, scales: scales, intercepts: intercepts,
      coefficients: coefficients)
  }

  /// Evaluates the blend's formula directly:
  /// `sum_f x_f * (c_f + sum_m v_{m,f} * score_m)`, with
  /// `x_f = (log(1 + support_f) - center_f) / scale_f` and `x_0 = 1`.
  static func reference(
    _ blend: BlendModel, scores: [Float], userSupport: Int32, itemSupport: Int32
  ) -> Double {
    var total = 0.0
    for (f, feature) in blend.features.enumerated() {
      var x = 1.0
      switch feature {
      case .constant: x = 1
      case .logUserSupport: x = (log(1 + Double(max(userSupport, 0))) - blend.centers[f]) / blend.scales[f]
      case .logItemSupport: x = (log(1 + Double(max(itemSupport, 0))) - blend.centers[f]) / blend.scales[f]
      }
      var term = blend.intercepts[f]
      for model in 0..<blend.modelCount {
        term += blend.coefficients[model][f] * Double(scores[model])
      }
      total += x * term
    }
    return total
  }

  static let userSupports: [Int32] = [0, 1, 7, 64, 2_000, -3]
  static let itemSupports: [Int32] = [0, 1, 3, 25, 180, 9_999, -1]

  /// Returns one score per model for each item, drawn from 0.5 to 5.
  static func randomRows(itemCount: Int, seed: UInt64) -> [[Float]] {
    var generator = SeededGenerator(seed: seed)
    return (0..<3).map { _ in (0..<itemCount).map { _ in Float(0.5 + 4.5 * generator.nextUnit()) } }
  }

  @Test(arguments: FeatureSet.allCases)
  func blendMatchesFormula(set: FeatureSet) {
    let blend = Self.randomBlend(set.features, seed: 21)
    let rows = Self.randomRows(itemCount: Self.itemSupports.count, seed: 22)

    for userSupport in Self.userSupports {
      for (item, itemSupport) in Self.itemSupports.enumerated() {
        let scores = rows.map { $0[item] }
        let expected = Self.reference(
          blend, scores: scores, userSupport: userSupport, itemSupport: itemSupport)
        let value = blend.blend(scores, userSupport: userSupport, itemSupport: itemSupport)
        #expect(isClose(value, expected, tolerance: 1e-9), "user \(userSupport), item \(itemSupport)")
      }
    }
  }

  @Test(arguments: FeatureSet.allCases)
  func termsMatchFormula(set: FeatureSet) {
    let blend = Self.randomBlend(set.features, seed: 23)
    let rows = Self.randomRows(itemCount: Self.itemSupports.count, seed: 24)

    for userSupport in Self.userSupports {
      for (item, itemSupport) in Self.itemSupports.enumerated() {
        let scores = rows.map { $0[item] }
        let terms = blend.terms(userSupport: userSupport, itemSupport: itemSupport)
        var value = terms.intercept
        for model in 0..<3 { value += terms.weights[model] * Double(scores[model]) }
        let expected = Self.reference(
          blend, scores: scores, userSupport: userSupport, itemSupport: itemSupport)
        #expect(terms.weights.count == 3)
        #expect(isClose(value, expected, tolerance: 1e-9), "user \(userSupport), item \(itemSupport)")
      }
    }
  }

  @Test(arguments: FeatureSet.allCases)
  func preparedRowMatchesFormula(set: FeatureSet) {
    let blend = Self.randomBlend(set.features, seed: 25)
    let rows = Self.randomRows(itemCount: Self.itemSupports.count, seed: 26)
    let prepared = blend.prepared(itemSupport: Self.itemSupports)
    var output: [Double] = []
    var viaBlendRows: [Double] = []

    for userSupport in Self.userSupports {
      prepared.blendRow(rows, userSupport: userSupport, into: &output)
      blend.blendRows(rows, userSupport: userSupport, itemSupport: Self.itemSupports, into: &viaBlendRows)
      #expect(output.count == Self.itemSupports.count)
      for (item, itemSupport) in Self.itemSupports.enumerated() {
        let expected = Self.reference(
          blend, scores: rows.map { $0[item] }, userSupport: userSupport, itemSupport: itemSupport)
        #expect(isClose(output[item], expected, tolerance: 1e-9), "user \(userSupport), item \(itemSupport)")
        #expect(
          isClose(viaBlendRows[item], expected, tolerance: 1e-9), "user \(userSupport), item \(itemSupport)")
      }
    }
  }

  @Test func linearBlendHasConstantFeatureOnly() {
    let blend = BlendModel(intercept: 0.25, weights: [0.5, -0.1])

    #expect(blend.isLinear)
    #expect(blend.features == [.constant])
    #expect(blend.intercept == 0.25)
    #expect(blend.weights == [0.5, -0.1])
    #expect(isClose(blend.blend([4, 2], userSupport: 9, itemSupport: 300), 0.25 + 2 - 0.2))
  }

  @Test func supportFeaturesUseLogOnePlus() {
    // log(1 + n), with a negative count treated as 0.
    #expect(MetaFeature.constant.value(userSupport: 5, itemSupport: 9) == 1)
    #expect(isClose(MetaFeature.logUserSupport.value(userSupport: 9, itemSupport: 2), log(10)))
    #expect(isClose(MetaFeature.logItemSupport.value(userSupport: 9, itemSupport: 2), log(3)))
    #expect(MetaFeature.logItemSupport.value(userSupport: 0, itemSupport: -4) == 0)
    #expect(MetaFeature.logItemSupport.isItemFeature)
    #expect(!MetaFeature.logUserSupport.isItemFeature)
  }

  @Test func clipLimitsToScale() {
    #expect(BlendModel.clip(7.2, to: 0.5...5) == 5)
    #expect(BlendModel.clip(-1, to: 0.5...5) == 0.5)
    #expect(BlendModel.clip(3.25, to: 0.5...5) == 3.25)
  }
}
