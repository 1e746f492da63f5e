import Glibc

/// A property of a (user, item) pair that a feature-weighted blend may let
/// the model weights depend on.
public enum MetaFeature: String, Sendable, CaseIterable {
  /// The constant 1: the plain linear blend.
  case constant = "one"
  /// `log(1 + n_u)`, with `n_u` the user's training ratings.
  case logUserSupport = "log_user_support"
  /// `log(1 + n_i)`, with `n_i` the item's training ratings.
  case logItemSupport = "log_item_support"

  /// True when the value depends on the item alone; otherwise it depends
  /// on the user alone (or on nothing).
  public var isItemFeature: Bool { self == .logItemSupport }

  /// The feature's value before standardisation.
  @inline(__always)
  public func value(userSupport: Int32, itemSupport: Int32) -> Double {
    switch self {
    case .constant: return 1
    case .logUserSupport: return log1p(Double(max(userSupport, 0)))
    case .logItemSupport: return log1p(Double(max(itemSupport, 0)))
    }
  }
}

/// The meta-model as the feature store keeps it and the blender applies it:
/// a feature-weighted linear blend of the base models' scores.
///
/// ```
/// x_f(u, i)   = (feature_f(u, i) - center_f) / scale_f   (x_0 = 1, the constant)
/// score(u, i) = sum_f x_f * (c_f + sum_m v_{m,f} * score_m(u, i))
/// ```
///
/// With only the constant feature this is ordinary linear stacking,
/// `c_0 + sum_m v_{m,0} * score_m`. With support features, each model's
/// weight `sum_f x_f v_{m,f}` varies with how many ratings the user and the
/// item have, so the blend can trust a neighbourhood model more for popular
/// items and a baseline more for rare ones. Source: Joseph Sill, Gabor
/// Takacs, Lester Mackey and David Lin, "Feature-Weighted Linear Stacking",
/// arXiv:0911.0460, 2009 (equation 4). Replies are clipped to the rating
/// scale by the caller.
public struct BlendModel: Sendable, Equatable {
  /// The meta-features, the constant first.
  public var features: [MetaFeature]
  /// The standardisation of each feature (0 and 1 for the constant).
  public var centers: [Double]
  public var scales: [Double]
  /// `c_f`, one per feature.
  public var intercepts: [Double]
  /// `v_{m,f}`: one row per model, one value per feature.
  public var coefficients: [[Double]]

  public init(
    features: [MetaFeature], centers: [Double], scales: [Double], intercepts: [Double],
    coefficients: [[Double]]
  ) {
    precondition(features.first == .constant, "the constant feature comes first")
    precondition(
      centers.count == features.count && scales.count == features.count
        && intercepts.count == features.count
        && coefficients.allSatisfy { $0.count == features.count },
      "every feature needs a center, a scale, an intercept and a coefficient per model")
    self.features = features
    self.centers = centers
    self.scales = scales
    self.intercepts = intercepts
    self.coefficients = coefficients
  }

  /// A plain linear blend: `intercept + sum_m weights[m] * score_m`.
  public init(intercept: Double, weights: [Double]) {
    self.init(
      features: [.constant], centers: [0], scales: [1], intercepts: [intercept],
      coefficients: weights.map { [$0] })
  }

  public init(_ stacker: LinearStacker) {
    self.init(intercept: stacker.intercept, weights: stacker.weights)
  }

  public var modelCount: Int { coefficients.count }

  /// True when the weights do not depend on the pair.
  public var isLinear: Bool { features == [.constant] }

  /// The intercept at average support (all standardised features 0).
  public var intercept: Double { intercepts[0] }

  /// Each model's weight at average support.
  public var weights: [Double] { coefficients.map { $0[0] } }

  /// The standardised feature values `x_f` for one pair.
  @inline(__always)
  public func featureValues(userSupport: Int32, itemSupport: Int32, into values: inout [Double]) {
    values.removeAll(keepingCapacity: true)
    for (index, feature) in features.enumerated() {
      let raw = feature.value(userSupport: userSupport, itemSupport: itemSupport)
      values.append(index == 0 ? 1 : (raw - centers[index]) / scales[index])
    }
  }

  /// The effective intercept and model weights for one pair.
  public func terms(userSupport: Int32, itemSupport: Int32) -> (intercept: Double, weights: [Double]) {
    var x: [Double] = []
    featureValues(userSupport: userSupport, itemSupport: itemSupport, into: &x)
    var intercept = 0.0
    for f in 0..<features.count { intercept += x[f] * intercepts[f] }
    let weights = coefficients.map { row in
      var weight = 0.0
      for f in 0..<features.count { weight += x[f] * row[f] }
      return weight
    }
    return (intercept, weights)
  }

  /// The unclipped blend of one score per model for one pair.
  public func blend(_ scores: [Float], userSupport: Int32 = 0, itemSupport: Int32 = 0) -> Double {
    let (intercept, weights) = terms(userSupport: userSupport, itemSupport: itemSupport)
    var value = intercept
    for model in 0..<weights.count { value += weights[model] * Double(scores[model]) }
    return value
  }

  /// Prepares the blend for whole rows of items with the given support:
  /// the item-dependent parts of the terms are computed once.
  public func prepared(itemSupport: [Int32]) -> PreparedBlend {
    PreparedBlend(blend: self, itemSupport: itemSupport)
  }

  /// Blends one user's rows: `rows[m][n]` is model m's score for item n,
  /// whose training support is `itemSupport[n]`.
  public func blendRows(
    _ rows: [[Float]], userSupport: Int32, itemSupport: [Int32], into output: inout [Double]
  ) {
    prepared(itemSupport: itemSupport).blendRow(rows, userSupport: userSupport, into: &output)
  }

  /// Clamps a blended score to the rating scale, as a `Float`.
  @inline(__always)
  public static func clip(_ value: Double, to scale: ClosedRange<Float>) -> Float {
    Float(min(max(value, Double(scale.lowerBound)), Double(scale.upperBound)))
  }
}

/// A blend with its item-dependent terms computed for a fixed list of
/// items. Because every meta-feature depends on the user alone or on the
/// item alone, a pair's terms split into a user part and an item part:
///
/// ```
/// intercept(u, i) = userIntercept(u) + itemIntercepts[i]
/// weight_m(u, i)  = userWeight_m(u) + itemWeights[m][i]
/// ```
public struct PreparedBlend: Sendable {
  public let blend: BlendModel
  /// The item parts of the intercept and of each model's weight.
  public let itemIntercepts: [Double]
  public let itemWeights: [[Double]]

  init(blend: BlendModel, itemSupport: [Int32]) {
    self.blend = blend
    let itemFeatures = blend.features.indices.filter { blend.features[$0].isItemFeature }
    func standardised(_ f: Int, _ support: Int32) -> Double {
      (blend.features[f].value(userSupport: 0, itemSupport: support) - blend.centers[f])
        / blend.scales[f]
    }
    itemIntercepts = itemSupport.map { support in
      itemFeatures.reduce(0) { $0 + standardised($1, support) * blend.intercepts[$1] }
    }
    itemWeights = blend.coefficients.map { row in
      itemSupport.map { support in
        itemFeatures.reduce(0) { $0 + standardised($1, support) * row[$1] }
      }
    }
  }

  /// The user parts of the intercept and of each model's weight.
  public func userTerms(userSupport: Int32) -> (intercept: Double, weights: [Double]) {
    let userFeatures = blend.features.indices.filter { !blend.features[$0].isItemFeature }
    func standardised(_ f: Int) -> Double {
      f == 0
        ? 1
        : (blend.features[f].value(userSupport: userSupport, itemSupport: 0) - blend.centers[f])
          / blend.scales[f]
    }
    let intercept = userFeatures.reduce(0) { $0 + standardised($1) * blend.intercepts[$1] }
    let weights = blend.coefficients.map { row in
      userFeatures.reduce(0) { $0 + standardised($1) * row[$1] }
    }
    return (intercept, weights)
  }

  /// Blends one user's rows: `rows[m][n]` is model m's score for item n.
  public func blendRow(_ rows: [[Float]], userSupport: Int32, into output: inout [Double]) {
    precondition(rows.count == blend.modelCount, "expected \(blend.modelCount) rows")
    let count = itemIntercepts.count
    let user = userTerms(userSupport: userSupport)
    output.removeAll(keepingCapacity: true)
    output.append(contentsOf: itemIntercepts)
    output.withUnsafeMutableBufferPointer { output in
      for index in 0..<count { output[index] += user.intercept }
      for model in 0..<rows.count {
        precondition(rows[model].count == count, "each row needs \(count) scores")
        let userWeight = user.weights[model]
        rows[model].withUnsafeBufferPointer { row in
          itemWeights[model].withUnsafeBufferPointer { itemWeight in
            for index in 0..<count {
              output[index] += (userWeight + itemWeight[index]) * Double(row[index])
            }
          }
        }
      }
    }
  }
}
