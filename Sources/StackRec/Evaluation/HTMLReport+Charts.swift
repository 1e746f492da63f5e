/// The report's charts, built from the experiment's arrays.
extension HTMLReport {
  /// The file name and image of one chart.
  struct NamedChart: Sendable {
    var file: String
    var svg: SVGDocument
  }

  /// The key of the served blend's accuracy entry.
  static let servedKey = "best"
  /// How far beyond the rating scale the prediction and error axes reach,
  /// in stars. Unclipped predictions rarely leave the scale by more than a
  /// star, and the few that go further fall in the edge bins instead of
  /// squeezing the rest of the chart.
  static let axisOverhang = 1.5

  /// Builds every chart, in page order.
  static func makeCharts(
    dataset: Report.DatasetSummary, ratings: [Float], result: ExperimentResult
  ) -> [NamedChart] {
    let single = bestSingleModel(result)
    var charts = [
      NamedChart(file: "rating-distribution.svg", svg: ratingHistogram(dataset, ratings)),
      NamedChart(file: "test-rmse.svg", svg: rmseChart(result)),
      NamedChart(file: "meta-model-weights.svg", svg: weightsChart(result)),
    ]
    let truth = result.testTruth
    if let single, let singlePredictions = result.testPredictions[single.key],
      let servedPredictions = result.testPredictions[servedKey], !truth.isEmpty
    {
      let compared = [
        (single.key, "\(single.key), the best single model", singlePredictions),
        (servedKey, "served blend (\(result.served.key))", servedPredictions),
      ]
      let lower = Double(dataset.ratingScale.lowerBound)
      let upper = Double(dataset.ratingScale.upperBound)
      let shown = (singlePredictions + servedPredictions).map {
        min(max($0, lower - axisOverhang), upper + axisOverhang)
      }
      let yBins = HistogramBins.covering(shown + [lower, upper], width: 0.1)
      for (key, name, predictions) in compared {
        charts.append(
          NamedChart(
            file: "true-vs-predicted-\(fileSafe(key)).svg",
            svg: truthDensity(name, truth, predictions, dataset.ratingScale, yBins)))
      }
      charts.append(
        NamedChart(
          file: "error-distribution.svg",
          svg: errorHistogram(
            compared.map { ($0.1, $0.2) }, truth: truth,
            maxError: upper - lower + axisOverhang)))
    }
    return charts
  }

  /// Returns the base model with the lowest test RMSE.
  static func bestSingleModel(_ result: ExperimentResult) -> Accuracy? {
    let keys = Set(result.models.map(\.key))
    return result.test.filter { keys.contains($0.key) }.min { $0.rmse < $1.rmse }
  }

  static func ratingHistogram(_ dataset: Report.DatasetSummary, _ ratings: [Float])
    -> SVGDocument
  {
    let scale = dataset.ratingScale
    let series = HistogramSeries(
      label: "ratings", values: ratings.map(Double.init), color: ChartColor.blue)
    return Chart.histogram(
      title: "Rating distribution",
      subtitle: "All \(grouped(ratings.count)) ratings of the dataset, one bar per half star.",
      series: [series],
      bins: .centered(
        from: Double(scale.lowerBound), through: Double(scale.upperBound), width: 0.5),
      xLabel: "rating (stars)", yLabel: "ratings")
  }

  /// Charts the test RMSE of every base model and ensemble, best first. The
  /// served blend appears under its meta-learner's key.
  static func rmseChart(_ result: ExperimentResult) -> SVGDocument {
    let baseKeys = Set(result.models.map(\.key))
    let rows = result.test.filter { $0.key != servedKey }.sorted { $0.rmse < $1.rmse }
    return Chart.barChart(
      title: "Test RMSE by model (lower is better)",
      subtitle: "Root mean squared error of the unclipped predictions on "
        + "\(grouped(result.splitSizes.test)) test ratings, best first. Bars start at zero.",
      labels: rows.map { $0.key == result.served.key ? "\($0.key) (served)" : $0.key },
      values: rows.map(\.rmse), valueLabel: "test RMSE (stars)",
      colors: rows.map { baseKeys.contains($0.key) ? ChartColor.blue : ChartColor.orange },
      legend: [
        LegendEntry(label: "base model", color: ChartColor.blue),
        LegendEntry(label: "ensemble", color: ChartColor.orange),
      ], valueDecimals: 4)
  }

  static func weightsChart(_ result: ExperimentResult) -> SVGDocument {
    let blend = result.blends[result.served.key]
    let weights = blend?.weights ?? []
    var subtitle = "A prediction is the intercept plus the sum of each weight times that "
      + "model's prediction. Intercept: \(formatNumber(blend?.intercept ?? 0, decimals: 3)) stars."
    if let blend, !blend.isLinear {
      subtitle += " The weights vary with user and item support and are shown at average support."
    }
    return Chart.barChart(
      title: "Meta-model weights of the served blend (\(result.served.key))",
      subtitle: subtitle, labels: result.models.prefix(weights.count).map(\.key),
      values: weights, valueLabel: "weight (stars per predicted star)")
  }

  static func truthDensity(
    _ name: String, _ truth: [Double], _ predictions: [Double], _ scale: ClosedRange<Float>,
    _ yBins: HistogramBins
  ) -> SVGDocument {
    let xBins = HistogramBins.centered(
      from: Double(scale.lowerBound), through: Double(scale.upperBound), width: 0.5)
    // The mean prediction for each true rating that occurs.
    var sums = [Double](repeating: 0, count: xBins.count)
    var counts = [Int](repeating: 0, count: xBins.count)
    for (value, prediction) in zip(truth, predictions) where prediction.isFinite {
      sums[xBins.index(of: value)] += prediction
      counts[xBins.index(of: value)] += 1
    }
    let means = (0..<xBins.count).filter { counts[$0] > 0 }.map {
      (x: xBins.lowerEdge($0) + xBins.width / 2, y: sums[$0] / Double(counts[$0]))
    }
    let low = max(xBins.start, yBins.start)
    let high = min(xBins.end, yBins.end)
    return Chart.densityPlot(
      title: "True vs predicted: \(name)",
      subtitle: "\(grouped(truth.count)) test ratings, RMSE "
        + formatNumber(Metrics.rmse(predictions, truth), decimals: 3) + " stars.",
      x: truth, y: predictions, xBins: xBins, yBins: yBins, xLabel: "true rating (stars)",
      yLabel: "predicted rating (stars)",
      lines: [
        ChartLine(
          label: "perfect prediction", points: [(low, low), (high, high)], color: "#333333",
          dashed: true),
        ChartLine(
          label: "mean prediction", points: means, color: "#d7301f", markers: true),
      ])
  }

  /// Charts the errors of each named prediction list, in bins reaching
  /// `maxError` on each side at most.
  static func errorHistogram(
    _ compared: [(String, [Double])], truth: [Double], maxError: Double
  ) -> SVGDocument {
    let errors = compared.map { _, predictions in zip(truth, predictions).map { $0 - $1 } }
    let largest = min(errors.joined().filter(\.isFinite).map(abs).max() ?? 1, maxError)
    let bound = max((largest / 0.5).rounded(.up) * 0.5, 0.5)
    let bins = HistogramBins(start: -bound, width: 0.25, count: Int((2 * bound / 0.25).rounded()))
    let colors = [ChartColor.blue, ChartColor.orange]
    return Chart.histogram(
      title: "Prediction errors on the test ratings",
      subtitle: "Error = true rating minus prediction, in quarter-star bins. "
        + "A positive error means the prediction was too low.",
      series: zip(compared, errors).enumerated().map { index, pair in
        HistogramSeries(label: pair.0.0, values: pair.1, color: colors[index % colors.count])
      },
      bins: bins, xLabel: "error: true minus predicted rating (stars)", yLabel: "test ratings",
      xTickCount: 12)
  }

  /// Replaces anything in `key` but ASCII letters, digits, `-` and `_` with `_`.
  static func fileSafe(_ key: String) -> String {
    let kept = key.map { character in
      character.isASCII && (character.isLetter || character.isNumber || "-_".contains(character))
        ? character : "_"
    }
    return String(kept)
  }
}

/// Formats `count` with comma separators, such as 20,168.
func grouped(_ count: Int) -> String {
  formatNumber(Double(count), decimals: 0, grouping: true)
}
