/// One base model's part of a feature store.
public struct StoredModel: Sendable {
  public var key: String
  /// Scores for every (user, item) pair, one row of `itemCount` per user.
  public var scores: [Float]
  /// The low-rank predictor the residuals are stored against.
  public var basis: ScoreBasis
  /// The model's score for a user it has never seen, per item.
  public var unknownUserScores: [Float]
  /// The model's score for an item it has never seen, per user.
  public var unknownItemScores: [Float]
  /// The model's score when neither is known.
  public var unknownUserAndItemScore: Float

  public init(
    key: String, scores: [Float], basis: ScoreBasis, unknownUserScores: [Float],
    unknownItemScores: [Float], unknownUserAndItemScore: Float
  ) {
    self.key = key
    self.scores = scores
    self.basis = basis
    self.unknownUserScores = unknownUserScores
    self.unknownItemScores = unknownItemScores
    self.unknownUserAndItemScore = unknownUserAndItemScore
  }

  /// Scores every pair with `model` and collects its fallbacks.
  public static func score(_ model: any RatingModel) -> StoredModel {
    var scores = [Float](repeating: 0, count: model.userCount * model.itemCount)
    scores.withUnsafeMutableBufferPointer { model.scoreMatrix(into: $0) }
    let basis =
      model.scoreBasis()
      ?? scores.withUnsafeBufferPointer {
        ScoreBasis.additive(scores: $0, userCount: model.userCount, itemCount: model.itemCount)
      }
    return StoredModel(
      key: model.key, scores: scores, basis: basis,
      unknownUserScores: model.unknownUserScores(), unknownItemScores: model.unknownItemScores(),
      unknownUserAndItemScore: model.unknownUserAndItemScore())
  }
}

/// One user's part of a candidate-limited store.
public struct UserScores: Sendable {
  /// The items the user rated, ascending.
  public var ratedItems: [Int32]
  /// The candidate items, ascending.
  public var candidates: [Int32]
  /// One row per model, one score per candidate.
  public var scores: [[Float]]

  public init(ratedItems: [Int32], candidates: [Int32], scores: [[Float]]) {
    self.ratedItems = ratedItems
    self.candidates = candidates
    self.scores = scores
  }
}

/// Produces the candidate scores of users on demand, so a large store is
/// written block by block without holding every score in memory.
public protocol UserScoreSource: Sendable {
  /// The scores of `users`, one entry per user, in order. Called from
  /// several threads at once for disjoint ranges.
  func scores(for users: Range<Int>) throws -> [UserScores]
}

/// Everything a feature store holds.
public struct FeatureStoreContent: Sendable {
  public var createdAt: String
  public var datasetFingerprint: String
  /// `all` when the models were refitted on every rating for serving,
  /// `base` when they are the models evaluated on the split.
  public var serveFit: String
  public var ratingScale: ClosedRange<Float>
  public var userIDs: [Int32]
  public var itemIDs: [Int32]
  public var titles: [String]
  /// Ratings per user and per item in the data the served models fit on;
  /// 0 marks a user or item the models answer with their fallbacks.
  public var userSupport: [Int32]
  public var itemSupport: [Int32]
  /// Each user's rated items, ascending, from every rating in the dataset.
  public var ratedItems: [[Int32]]
  public var models: [StoredModel]
  public var blend: BlendModel
  /// For a candidate-limited store, the number of candidates per user and
  /// where their scores come from; the models' `scores` are then empty.
  public var candidateCount: Int?
  public var candidateSource: (any UserScoreSource)?

  public init(
    createdAt: String, datasetFingerprint: String, serveFit: String,
    ratingScale: ClosedRange<Float>, userIDs: [Int32], itemIDs: [Int32], titles: [String],
    userSupport: [Int32], itemSupport: [Int32], ratedItems: [[Int32]], models: [StoredModel],
    blend: BlendModel
  ) {
    self.createdAt = createdAt
    self.datasetFingerprint = datasetFingerprint
    self.serveFit = serveFit
    self.ratingScale = ratingScale
    self.userIDs = userIDs
    self.itemIDs = itemIDs
    self.titles = titles
    self.userSupport = userSupport
    self.itemSupport = itemSupport
    self.ratedItems = ratedItems
    self.models = models
    self.blend = blend
  }

  public var userCount: Int { userIDs.count }
  public var itemCount: Int { itemIDs.count }
}
