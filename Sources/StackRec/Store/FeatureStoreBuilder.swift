/// Which models the feature store serves.
public enum ServeFit: String, Sendable, CaseIterable {
  /// Refit every base model on all ratings, keeping the meta-weights
  /// learned on meta-train: the best models for production.
  case all
  /// Serve the models exactly as evaluated (fit on base-train), so served
  /// scores can be checked against the report.
  case base
}

/// Builds the content of a feature store from a finished experiment.
public enum FeatureStoreBuilder {
  /// Scores every (user, item) pair with each served model.
  ///
  /// - Parameter models: the models to serve, fitted on `training`, in blend
  ///   order, matching the weights of `blend`.
  public static func content(
    dataset: Dataset, training: TrainingSet, models: [any RatingModel], blend: BlendModel,
    serveFit: ServeFit, logger: Logger
  ) -> FeatureStoreContent {
    content(
      dataset: dataset, training: training, stored: score(models, logger: logger), blend: blend,
      serveFit: serveFit)
  }

  /// Scores every (user, item) pair with each model, in order.
  public static func score(_ models: [any RatingModel], logger: Logger) -> [StoredModel] {
    models.map { model in
      let stopwatch = Stopwatch()
      let stored = StoredModel.score(model)
      logger.info(
        "scored all pairs",
        [
          "model": model.key, "pairs": model.userCount * model.itemCount,
          "seconds": formatSeconds(stopwatch.seconds),
        ])
      return stored
    }
  }

  /// The content of a dense store whose models are already scored.
  public static func content(
    dataset: Dataset, training: TrainingSet, stored: [StoredModel], blend: BlendModel,
    serveFit: ServeFit
  ) -> FeatureStoreContent {
    // Every rating in the dataset marks an item as rated, whatever the fit.
    var rated = [[Int32]](repeating: [], count: dataset.userCount)
    for row in 0..<dataset.ratings.count {
      rated[Int(dataset.ratings.users[row])].append(dataset.ratings.items[row])
    }
    for user in 0..<rated.count { rated[user].sort() }

    return FeatureStoreContent(
      createdAt: Logger.timestamp(), datasetFingerprint: dataset.fingerprint,
      serveFit: serveFit.rawValue, ratingScale: dataset.ratingScale, userIDs: dataset.users.ids,
      itemIDs: dataset.items.ids, titles: dataset.titles,
      userSupport: (0..<dataset.userCount).map { Int32(training.byUser.count(ofRow: $0)) },
      itemSupport: (0..<dataset.itemCount).map { Int32(training.byItem.count(ofRow: $0)) },
      ratedItems: rated, models: stored, blend: blend)
  }

  /// Prepares a candidate-limited store: each user keeps `candidates`
  /// items, chosen and scored block by block while the store is written
  /// (see `CandidateSource`).
  public static func candidateContent(
    dataset: Dataset, training: TrainingSet, models: [any RatingModel], blend: BlendModel,
    serveFit: ServeFit, candidates: Int, logger: Logger
  ) -> FeatureStoreContent {
    let userSupport = (0..<dataset.userCount).map { Int32(training.byUser.count(ofRow: $0)) }
    let itemSupport = (0..<dataset.itemCount).map { Int32(training.byItem.count(ofRow: $0)) }

    // Models without a basis of their own are estimated by the user's mean.
    let userMeans = (0..<dataset.userCount).map { user -> Float in
      let range = training.byUser.range(ofRow: user)
      guard !range.isEmpty else { return Float(training.globalMean) }
      var sum: Float = 0
      for entry in range { sum += training.byUser.values[entry] }
      return sum / Float(range.count)
    }
    let meanBasis = ScoreBasis(
      rank: 1, userTerms: userMeans, itemTerms: [Float](repeating: 1, count: dataset.itemCount))

    var stored: [StoredModel] = []
    var scorers: [any CandidateScorer] = []
    for model in models {
      let stopwatch = Stopwatch()
      scorers.append(model.makeCandidateScorer())
      stored.append(
        StoredModel(
          key: model.key, scores: [], basis: model.scoreBasis() ?? meanBasis,
          unknownUserScores: model.unknownUserScores(), unknownItemScores: model.unknownItemScores(),
          unknownUserAndItemScore: model.unknownUserAndItemScore()))
      logger.info(
        "prepared candidate scoring", ["model": model.key, "seconds": formatSeconds(stopwatch.seconds)])
    }

    var ratedOffsets = [Int](repeating: 0, count: dataset.userCount + 1)
    for row in 0..<dataset.ratings.count { ratedOffsets[Int(dataset.ratings.users[row]) + 1] += 1 }
    for user in 0..<dataset.userCount { ratedOffsets[user + 1] += ratedOffsets[user] }
    var cursor = ratedOffsets
    var ratedItems = [Int32](repeating: 0, count: dataset.ratings.count)
    for row in 0..<dataset.ratings.count {
      let user = Int(dataset.ratings.users[row])
      ratedItems[cursor[user]] = dataset.ratings.items[row]
      cursor[user] += 1
    }
    for user in 0..<dataset.userCount {
      ratedItems[ratedOffsets[user]..<ratedOffsets[user + 1]].sort()
    }

    let count = min(candidates, dataset.itemCount)
    let source = CandidateSource(
      scorers: scorers, bases: stored.map(\.basis), prepared: blend.prepared(itemSupport: itemSupport),
      userSupport: userSupport, itemSupport: itemSupport, ratedOffsets: ratedOffsets,
      ratedItems: ratedItems, count: count, preselect: min(count + count / 2, dataset.itemCount),
      itemCount: dataset.itemCount)
    var content = FeatureStoreContent(
      createdAt: Logger.timestamp(), datasetFingerprint: dataset.fingerprint,
      serveFit: serveFit.rawValue, ratingScale: dataset.ratingScale, userIDs: dataset.users.ids,
      itemIDs: dataset.items.ids, titles: dataset.titles, userSupport: userSupport,
      itemSupport: itemSupport, ratedItems: [], models: stored, blend: blend)
    content.candidateCount = count
    content.candidateSource = source
    return content
  }
}
