/// The experiment report as one self-contained HTML page: the dataset, the
/// accuracy of every model and ensemble, the served meta-model, the timings
/// and the charts, drawn as inline SVG. The page loads nothing: no script,
/// font, stylesheet or image comes from outside it. Each chart is also
/// written as its own SVG file.
struct HTMLReport: Sendable {
  var dataset: Report.DatasetSummary
  var result: ExperimentResult
  /// Wall time of each stage, in seconds, in order.
  var timings: [(stage: String, seconds: Double)]
  var createdAt: String
  var charts: [NamedChart]

  init(
    dataset: Report.DatasetSummary, ratings: [Float], result: ExperimentResult,
    timings: [(stage: String, seconds: Double)], createdAt: String = Logger.timestamp()
  ) {
    self.dataset = dataset
    self.result = result
    self.timings = timings
    self.createdAt = createdAt
    charts = HTMLReport.makeCharts(dataset: dataset, ratings: ratings, result: result)
  }

  /// Writes every chart and then `report.html` into `directory`, each file
  /// atomically, so a failed run leaves each file either whole or as before.
  func write(directory: String, logger: Logger) throws {
    try createDirectories(directory)
    for chart in charts {
      try writeFileAtomically(
        joinPath(directory, chart.file), Array(chart.svg.standaloneMarkup.utf8))
    }
    let path = joinPath(directory, "report.html")
    try writeFileAtomically(path, Array(html.utf8))
    logger.info("wrote HTML report", ["path": path, "charts": charts.count])
  }

  /// The page.
  var html: String {
    var page = """
      <!DOCTYPE html>
      <html lang="en">
      <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>stackrec experiment report</title>
      <style>\(HTMLReport.styleSheet)</style>
      </head>
      <body>
      <main>
      <h1>stackrec experiment report</h1>
      <p class="note">Created \(escapeXML(createdAt)). \
      RMSE and MAE are in stars, and lower is better.</p>

      """
    page += section("Dataset", datasetTable())
    page += section("Test accuracy", accuracyTable() + figures(["test-rmse.svg"]))
    page += section("Meta-model", weightsTable() + figures(["meta-model-weights.svg"]))
    let predictionCharts = charts.map(\.file).filter { $0.hasPrefix("true-vs-predicted-") }
    page += section(
      "Predictions", figures(predictionCharts, paired: true) + figures(["error-distribution.svg"]))
    page += section("Ratings", figures(["rating-distribution.svg"]))
    page += section("Timings", timingsTable())
    return page + "</main>\n</body>\n</html>\n"
  }

  private func section(_ title: String, _ content: String) -> String {
    "<section>\n<h2>\(escapeXML(title))</h2>\n\(content)</section>\n"
  }

  /// Embeds the named charts, each in a figure, side by side when `paired`.
  private func figures(_ files: [String], paired: Bool = false) -> String {
    let inline = files.compactMap { file in charts.first { $0.file == file } }.map {
      "<figure>\n\($0.svg.inlineMarkup)</figure>\n"
    }
    guard !inline.isEmpty else { return "" }
    let joined = inline.joined()
    return paired ? "<div class=\"pair\">\n\(joined)</div>\n" : joined
  }

  private func datasetTable() -> String {
    let scale = dataset.ratingScale
    let sizes = result.splitSizes
    return table(
      header: [],
      rows: [
        ["source", dataset.source],
        ["fingerprint", dataset.fingerprint],
        ["ratings", grouped(dataset.ratings)],
        ["users", grouped(dataset.users)],
        ["items", grouped(dataset.items)],
        ["dropped duplicates", grouped(dataset.droppedDuplicates)],
        [
          "rating scale",
          "\(formatNumber(Double(scale.lowerBound), decimals: 1)) to "
            + "\(formatNumber(Double(scale.upperBound), decimals: 1)) stars",
        ],
        ["base-train rows", grouped(sizes.baseTrain)],
        ["meta-train rows", grouped(sizes.metaTrain)],
        ["test rows", grouped(sizes.test)],
      ])
  }

  /// Tabulates every model and ensemble, best test RMSE first, with the
  /// ranking metrics when the experiment computed them.
  private func accuracyTable() -> String {
    let rows = result.test.filter { $0.key != HTMLReport.servedKey }.sorted { $0.rmse < $1.rmse }
    let k = result.rankingK
    var header = ["model", "test RMSE", "clipped RMSE", "test MAE", "clipped MAE"]
    if !result.ranking.isEmpty { header += ["P@\(k)", "R@\(k)", "NDCG@\(k)"] }
    let baseKeys = Set(result.models.map(\.key))
    let body = rows.map { row in
      var kind = baseKeys.contains(row.key) ? "" : " (ensemble)"
      if row.key == result.served.key { kind = " (ensemble, served)" }
      var cells = [row.key + kind] + [row.rmse, row.rmseClipped, row.mae, row.maeClipped].map {
        formatNumber($0, decimals: 4)
      }
      if !result.ranking.isEmpty {
        let ranking = result.ranking.first { $0.key == row.key }
        cells += [ranking?.precision, ranking?.recall, ranking?.ndcg].map {
          $0.map { formatNumber($0, decimals: 4) } ?? ""
        }
      }
      return cells
    }
    var text = table(header: header, rows: body)
    if !result.ranking.isEmpty {
      text += "<p class=\"note\">Ranking metrics over \(grouped(result.rankingUsers)) test users. "
        + "A test rating of 4 stars or more counts as relevant.</p>\n"
    }
    return text
  }

  private func weightsTable() -> String {
    guard let blend = result.blends[result.served.key] else { return "" }
    var rows = [["intercept (stars)", formatNumber(blend.intercept, decimals: 4)]]
    for (model, weight) in zip(result.models, blend.weights) {
      rows.append([model.key, formatNumber(weight, decimals: 4)])
    }
    let support = blend.isLinear ? "" : ", at average user and item support"
    return "<p>Served blend: <b>\(escapeXML(result.served.key))</b>\(support).</p>\n"
      + table(header: ["term", "value"], rows: rows)
  }

  private func timingsTable() -> String {
    table(
      header: ["stage", "seconds"],
      rows: timings.map { [$0.stage, formatNumber($0.seconds, decimals: 3)] })
  }

  /// Builds an HTML table whose first column names the rows. An empty
  /// `header` leaves out the header row.
  private func table(header: [String], rows: [[String]]) -> String {
    var text = "<table>\n"
    if !header.isEmpty {
      text += "<tr>" + header.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr>\n"
    }
    for row in rows {
      text += "<tr>" + row.enumerated().map { index, cell in
        index == 0 ? "<th scope=\"row\">\(escapeXML(cell))</th>" : "<td>\(escapeXML(cell))</td>"
      }.joined() + "</tr>\n"
    }
    return text + "</table>\n"
  }

  static let styleSheet = """
    body { margin: 0; background: #f4f5f7; color: #222; \
    font-family: DejaVu Sans, Helvetica, Arial, sans-serif; font-size: 15px; }
    main { max-width: 1240px; margin: 0 auto; padding: 16px 20px 40px; }
    h1 { font-size: 26px; margin: 12px 0 4px; }
    h2 { font-size: 20px; margin: 28px 0 10px; border-bottom: 1px solid #ccc; }
    .note { color: #555; }
    table { border-collapse: collapse; background: #fff; margin: 8px 0 16px; }
    th, td { padding: 4px 12px; border-bottom: 1px solid #e2e2e2; }
    th { text-align: left; font-weight: 600; }
    td { text-align: right; font-variant-numeric: tabular-nums; }
    figure { margin: 12px 0; background: #fff; border: 1px solid #ddd; }
    figure svg { display: block; width: 100%; height: auto; }
    .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
    .pair figure { margin: 12px 0 0; }
    """
}
