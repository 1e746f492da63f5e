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
    var stored: [StoredModel] = []
    for model in models {
      let stopwatch = Stopwatch()
      stored.append(StoredModel.score(model))
      logger.info(
        "scored all pairs",
        [
          "model": model.key, "pairs": model.userCount * model.itemCount,
          "seconds": formatSeconds(stopwatch.seconds),
        ])
    }

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
}
