/// A run whose evaluation produced a number that is not finite.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
  /// `term` of `model` is NaN or infinite, such as its test RMSE after its fit diverged.
  case nonFiniteResult(model: String, term: String, value: Double)

  public var description: String {
    switch self {
    case .nonFiniteResult(let model, let term, let value):
      return
        "model \(model) produced a non-finite \(term) (\(value)), so its fit diverged or its "
        + "input is degenerate; no report or store was written. Check the model's "
        + "hyperparameters, such as a smaller --mf-learning-rate or --mf-init-std for mf"
    }
  }
}

extension ExperimentResult {
  /// Checks that every figure the report and the store take from the result is finite.
  ///
  /// Base models come first, so the error names the model whose fit went wrong rather than
  /// an ensemble that inherited its NaN.
  ///
  /// - Throws: `ExperimentError.nonFiniteResult` for the first NaN or infinity.
  public func checkFinite() throws {
    func check(_ model: String, _ term: String, _ value: Double) throws {
      guard value.isFinite else {
        throw ExperimentError.nonFiniteResult(model: model, term: term, value: value)
      }
    }
    for key in models.map(\.key) where metaRMSE[key] != nil {
      try check(key, "meta-train RMSE", metaRMSE[key]!)
    }
    for accuracy in test {
      try check(accuracy.key, "test RMSE", accuracy.rmse)
      try check(accuracy.key, "test MAE", accuracy.mae)
      try check(accuracy.key, "clipped test RMSE", accuracy.rmseClipped)
      try check(accuracy.key, "clipped test MAE", accuracy.maeClipped)
    }
    for key in blends.keys.sorted() {
      let blend = blends[key]!
      for value in blend.intercepts { try check(key, "intercept", value) }
      for (model, row) in zip(models, blend.coefficients) {
        for value in row { try check(key, "weight of \(model.key)", value) }
      }
    }
  }
}
