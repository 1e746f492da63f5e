/// Hyperparameter search by K-fold cross-validation inside the training
/// rows: test rows are never read.
///
/// Each model has a small grid of configurations around its defaults; every
/// configuration predicts each training row from a fit on the other folds,
/// and the configuration with the lowest cross-validated RMSE wins. The
/// defaults of the `best` preset were chosen this way (docs/RESULTS.md has
/// the command and the figures).
public enum Tuning {
  /// One configuration's cross-validated accuracy.
  public struct Trial: Sendable {
    public var key: String
    /// The hyperparameters that differ between the grid's configurations.
    public var description: String
    public var spec: BaseModelSpec
    public var rmse: Double
  }

  /// The configurations tried for `key`, described by the values varied.
  public static func grid(for key: String, seed: UInt64) -> [(String, BaseModelSpec)] {
    let reference = ModelConfiguration()
    guard let base = Preset.spec(for: key, reference: reference, seed: seed) else { return [] }
    var trials: [(String, BaseModelSpec)] = []
    switch base {
    case .baseline(var configuration):
      for itemPenalty in [1.0, 2, 5] {
        for userPenalty in [2.0, 5, 10] {
          configuration.itemRegularization = itemPenalty
          configuration.userRegularization = userPenalty
          trials.append(("lambda_i=\(itemPenalty) lambda_u=\(userPenalty)", .baseline(configuration)))
        }
      }
    case .knnBaseline(var configuration):
      for neighbors in [60, 100] {
        for shrinkage in [400.0, 1600, 6400] {
          configuration.neighbors = neighbors
          configuration.shrinkage = shrinkage
          trials.append(("k=\(neighbors) shrinkage=\(shrinkage)", .knnBaseline(configuration)))
        }
      }
    case .svd(var configuration):
      for factors in [100, 200] {
        for regularization in [0.1, 0.15] {
          for (rate, epochs) in [(0.005, 40), (0.005, 60)] {
            configuration.factors = factors
            configuration.regularization = regularization
            configuration.learningRate = rate
            configuration.epochs = epochs
            trials.append(
              ("factors=\(factors) reg=\(regularization) lr=\(rate) epochs=\(epochs)",
               .svd(configuration)))
          }
        }
      }
    case .svdPlusPlus(var configuration):
      for factors in [50, 100] {
        for regularization in [0.05, 0.1] {
          for (rate, epochs) in [(0.007, 20), (0.005, 30)] {
            configuration.factors = factors
            configuration.regularization = regularization
            configuration.learningRate = rate
            configuration.epochs = epochs
            trials.append(
              ("factors=\(factors) reg=\(regularization) lr=\(rate) epochs=\(epochs)",
               .svdPlusPlus(configuration)))
          }
        }
      }
    case .timeSVD(var configuration):
      for factors in [50, 100] {
        for regularization in [0.06, 0.1] {
          for dayPenalty in [0.2, 0.5, 1] {
            configuration.factors = factors
            configuration.regularization = regularization
            configuration.dayRegularization = dayPenalty
            trials.append(
              ("factors=\(factors) reg=\(regularization) day_reg=\(dayPenalty)",
               .timeSVD(configuration)))
          }
        }
      }
    case .content(var configuration):
      for penalty in [2.0, 3, 5] {
        for tags in [30, 100] {
          configuration.weightRegularization = penalty
          configuration.maxTags = tags
          trials.append(("lambda_w=\(penalty) tags=\(tags)", .content(configuration)))
        }
      }
    default:
      trials.append(("defaults", base))
    }
    return trials
  }

  /// Cross-validates every configuration of every model in `keys` on
  /// `rows` of `dataset`.
  public static func run(
    dataset: Dataset, rows: [Int], keys: [String], folds: Int, seed: UInt64, logger: Logger
  ) -> [Trial] {
    let truth = rows.map { Double(dataset.ratings.values[$0]) }
    var trials: [Trial] = []
    for key in keys {
      let grid = grid(for: key, seed: seed)
      let context = FitContext(
        dataset: dataset, logger: Logger(label: logger.label, threshold: .warning))
      let stopwatch = Stopwatch()
      let predictions = Experiment.outOfFoldPredictions(
        grid.map(\.1), dataset: dataset, rows: rows, folds: folds, seed: seed, context: context)
      for ((description, spec), values) in zip(grid, predictions) {
        trials.append(
          Trial(key: key, description: description, spec: spec, rmse: Metrics.rmse(values, truth)))
      }
      let best = trials.filter { $0.key == key }.min { $0.rmse < $1.rmse }!
      logger.info(
        "tuned \(key)",
        [
          "configurations": grid.count, "best": best.description,
          "cv_rmse": format(best.rmse), "seconds": formatSeconds(stopwatch.seconds),
        ])
    }
    return trials
  }
}
