/// The evaluation report: what was run, on what, and how accurate it was.
///
/// `json` is written to `report.json`; `table` is printed on standard output.
public struct Report: Sendable {
  public var json: JSONValue
  public var table: String

  /// Describes the dataset and how it was loaded.
  public struct DatasetSummary: Sendable {
    public var source: String
    public var fingerprint: String
    public var ratings: Int
    public var users: Int
    public var items: Int
    public var droppedDuplicates: Int
    public var ratingScale: ClosedRange<Float>
  }

  public init(
    dataset: DatasetSummary, splitDescription: JSONValue, parameters: JSONValue,
    result: ExperimentResult, extra: [(String, JSONValue)] = []
  ) {
    func byKey(_ value: (Accuracy) -> Double) -> JSONValue {
      .object(result.test.map { ($0.key, .number(rounded(value($0)))) })
    }
    let served = result.blends[result.served.key]!
    var members: [(String, JSONValue)] = [
      ("format", .string("stackrec-report/1")),
      ("created_at", .string(Logger.timestamp())),
      (
        "dataset",
        .object([
          ("source", .string(dataset.source)),
          ("fingerprint", .string(dataset.fingerprint)),
          ("ratings", .integer(dataset.ratings)),
          ("users", .integer(dataset.users)),
          ("items", .integer(dataset.items)),
          ("dropped_duplicates", .integer(dataset.droppedDuplicates)),
          (
            "rating_scale",
            .array([
              .number(Double(dataset.ratingScale.lowerBound)),
              .number(Double(dataset.ratingScale.upperBound)),
            ])
          ),
        ])
      ),
      (
        "split",
        .object([
          ("base_train", .integer(result.splitSizes.baseTrain)),
          ("meta_train", .integer(result.splitSizes.metaTrain)),
          ("test", .integer(result.splitSizes.test)),
          ("protocol", splitDescription),
        ])
      ),
      ("parameters", parameters),
      ("test_rmse", byKey(\.rmse)),
      ("test_rmse_clipped", byKey(\.rmseClipped)),
      ("test_mae", byKey(\.mae)),
      ("test_mae_clipped", byKey(\.maeClipped)),
      (
        "meta_train_rmse",
        .object(result.models.map { ($0.key, .number(rounded(result.metaRMSE[$0.key]!))) })
      ),
      ("meta_model", Report.blendJSON(served, learner: result.served.key, models: result.models)),
      (
        "meta_models",
        .object(MetaLearner.all.map {
          ($0.key, Report.blendJSON(result.blends[$0.key]!, learner: $0.key, models: result.models))
        })
      ),
      ("mf_train_rmse_by_epoch", .array(result.mfEpochRMSE.map { .number(rounded($0)) })),
    ]
    if !result.ranking.isEmpty {
      func metric(_ value: (RankingAccuracy) -> Double) -> JSONValue {
        .object(result.ranking.map { ($0.key, .number(rounded(value($0)))) })
      }
      members.append(
        (
          "test_ranking",
          .object([
            ("k", .integer(result.rankingK)),
            ("relevance_threshold", .number(4.0)),
            ("users", .integer(result.rankingUsers)),
            ("precision", metric(\.precision)),
            ("recall", metric(\.recall)),
            ("ndcg", metric(\.ndcg)),
          ])
        ))
    }
    members += extra
    json = .object(members)
    table = Report.table(result)
  }

  /// A blend as JSON: the intercept and weights at average support, and
  /// for a feature-weighted blend its features and every coefficient.
  static func blendJSON(_ blend: BlendModel, learner: String, models: [any RatingModel])
    -> JSONValue
  {
    var members: [(String, JSONValue)] = [
      ("learner", .string(learner)),
      ("intercept", .number(blend.intercept)),
      ("weights", .object(zip(models, blend.weights).map { ($0.key, .number($1)) })),
    ]
    if !blend.isLinear {
      members.append(("features", .array(blend.features.map { .string($0.rawValue) })))
      members.append(("centers", .array(blend.centers.map { .number($0) })))
      members.append(("scales", .array(blend.scales.map { .number($0) })))
      members.append(("intercepts", .array(blend.intercepts.map { .number($0) })))
      members.append(
        (
          "coefficients",
          .object(zip(models, blend.coefficients).map { ($0.key, .array($1.map { .number($0) })) })
        ))
    }
    return .object(members)
  }

  /// The test accuracy table, best RMSE first, with the meta-model below.
  static func table(_ result: ExperimentResult) -> String {
    let rows = result.test.filter { $0.key != "best" }.sorted { $0.rmse < $1.rmse }
    let k = result.rankingK
    var text = "model         test RMSE   clipped RMSE   test MAE   clipped MAE"
    if !result.ranking.isEmpty { text += "   P@\(k)     R@\(k)     NDCG@\(k)" }
    text += "\n"
    for row in rows {
      text += row.key.padding(to: 14)
      text += format(row.rmse).padding(to: 12)
      text += format(row.rmseClipped).padding(to: 15)
      text += format(row.mae).padding(to: 11)
      text += format(row.maeClipped)
      if let ranking = result.ranking.first(where: { $0.key == row.key }) {
        text += "      " + format(ranking.precision, decimals: 4).padding(to: 9)
        text += format(ranking.recall, decimals: 4).padding(to: 9)
        text += format(ranking.ndcg, decimals: 4)
      }
      text += "\n"
    }
    let served = result.blends[result.served.key]!
    let average = served.isLinear ? "" : " at average support"
    text += "\nserved blend (\(result.served.key))\(average): intercept \(format(served.intercept))"
    for (model, weight) in zip(result.models, served.weights) {
      text += ", \(model.key) \(format(weight))"
    }
    return text + "\n"
  }
}

/// Rounds a metric to 9 decimals, enough for any comparison and short in JSON.
func rounded(_ value: Double) -> Double {
  (value * 1e9).rounded() / 1e9
}

extension String {
  func padding(to width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }
}
