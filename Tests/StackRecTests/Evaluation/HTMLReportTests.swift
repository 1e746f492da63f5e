import Foundation
import Testing

@testable import StackRec

@Suite struct HTMLReportTests {
  static let dataset = Report.DatasetSummary(
    source: "data/<tom & jerry's>.csv", fingerprint: "abc",
    ratings: ExperimentTests.dataset.ratings.count, users: 40, items: 25, droppedDuplicates: 0,
    ratingScale: 0.5...5)
  static let report = HTMLReport(
    dataset: dataset, ratings: ExperimentTests.dataset.ratings.values,
    result: ExperimentTests.result, timings: [("load", 0.25), ("fit_base_models", 1.5)],
    createdAt: "2024-01-02T03:04:05Z")

  /// Parses the standalone SVG of the chart written to `file`.
  static func chart(_ file: String) throws -> [ParsedElement] {
    let chart = try #require(report.charts.first { $0.file == file }, "\(file)")
    return try parseXML(chart.svg.standaloneMarkup)
  }

  @Test func chartFilesAreNamedByContent() {
    let best = HTMLReport.bestSingleModel(ExperimentTests.result)
    #expect(best != nil)
    #expect(
      Self.report.charts.map(\.file) == [
        "rating-distribution.svg", "test-rmse.svg", "meta-model-weights.svg",
        "true-vs-predicted-\(best?.key ?? "").svg", "true-vs-predicted-best.svg",
        "error-distribution.svg",
      ])
  }

  @Test func everyChartIsWellFormedSVG() throws {
    for chart in Self.report.charts {
      let elements = try parseXML(chart.svg.standaloneMarkup)
      #expect(elements.first?.name == "svg", "\(chart.file)")
      #expect(elements.withClass("axis-label").count >= 1, "\(chart.file)")
      #expect(elements.withClass("title").count == 1, "\(chart.file)")
    }
  }

  @Test func bestSingleModelHasLowestRMSE() throws {
    let best = try #require(HTMLReport.bestSingleModel(ExperimentTests.result))
    for model in ExperimentTests.result.models {
      let accuracy = try #require(ExperimentTests.result.test.first { $0.key == model.key })
      #expect(best.rmse <= accuracy.rmse)
    }
  }

  @Test func rmseChartHasOneBarPerModel() throws {
    let elements = try Self.chart("test-rmse.svg")
    let result = ExperimentTests.result
    // Every base model and ensemble, without the duplicate "best" entry.
    #expect(elements.withClass("bar").count == result.test.count - 1)
    let values = elements.texts(ofClass: "value").compactMap(Double.init)
    #expect(values == values.sorted())
    #expect(elements.texts(ofClass: "category").contains("\(result.served.key) (served)"))
    #expect(elements.texts(ofClass: "axis-label") == ["test RMSE (stars)"])
  }

  @Test func weightsChartHasOneBarPerBaseModel() throws {
    let elements = try Self.chart("meta-model-weights.svg")
    let result = ExperimentTests.result
    let weights = try #require(result.blends[result.served.key]).weights
    #expect(elements.withClass("bar").count == result.models.count)
    #expect(elements.texts(ofClass: "category") == result.models.map(\.key))
    let zero = try #require(elements.withClass("zero").first?.number("y1"))
    for (bar, weight) in zip(elements.withClass("bar"), weights) {
      let top = try #require(bar.number("y"))
      if weight < 0 { #expect(isClose(top, zero, tolerance: 0.02)) } else { #expect(top <= zero) }
    }
  }

  @Test func ratingHistogramCountsEveryRating() throws {
    let bins = try Self.chart("rating-distribution.svg").withClass("bin")
    #expect(bins.count == 10)
    #expect(bins.compactMap(tooltipCount).reduce(0, +) == ExperimentTests.dataset.ratings.count)
  }

  @Test func densityPlotsCountEveryTestRating() throws {
    let testCount = ExperimentTests.result.testTruth.count
    for file in Self.report.charts.map(\.file) where file.hasPrefix("true-vs-predicted-") {
      let elements = try Self.chart(file)
      let cells = elements.withClass("cell")
      #expect(!cells.isEmpty, "\(file)")
      #expect(cells.compactMap(tooltipCount).reduce(0, +) == testCount, "\(file)")
      // The diagonal and the line of mean predictions.
      #expect(elements.withClass("line").count >= 2, "\(file)")
      #expect(!elements.withClass("marker").isEmpty, "\(file)")
    }
  }

  @Test func errorHistogramComparesTwoModels() throws {
    let bins = try Self.chart("error-distribution.svg").withClass("bin")
    #expect(bins.count % 2 == 0)
    let counts = bins.compactMap(tooltipCount)
    let testCount = ExperimentTests.result.testTruth.count
    #expect(stride(from: 0, to: counts.count, by: 2).map { counts[$0] }.reduce(0, +) == testCount)
    #expect(stride(from: 1, to: counts.count, by: 2).map { counts[$0] }.reduce(0, +) == testCount)
  }

  @Test func errorAxisStopsAtMaxError() throws {
    // One wild prediction must not stretch the axis over 40 stars.
    let svg = HTMLReport.errorHistogram([("a", [3, -40])], truth: [3, 3], maxError: 6)
    let bins = try parseXML(svg.standaloneMarkup).withClass("bin")
    #expect(bins.count == 48)
    var expected = [Int](repeating: 0, count: 48)
    expected[24] = 1  // error 0
    expected[47] = 1  // error 43, counted in the last bin
    #expect(bins.compactMap(tooltipCount) == expected)
  }

  @Test func pageEmbedsEveryChart() {
    let html = Self.report.html
    for chart in Self.report.charts {
      #expect(html.contains(chart.svg.inlineMarkup), "\(chart.file)")
    }
  }

  @Test func pageLoadsNothingExternal() {
    let html = Self.report.html
    #expect(!html.contains("http"))
    #expect(!html.contains("<script"))
    #expect(!html.contains("<link"))
    #expect(!html.contains("url("))
    #expect(!html.contains("<img"))
  }

  @Test func pageIsWellFormedXML() throws {
    let elements = try parseXML(Self.report.html)
    #expect(elements.first?.name == "html")
    #expect(elements.filter { $0.name == "svg" }.count == Self.report.charts.count)
  }

  @Test func pageListsEveryModelAndTiming() throws {
    let elements = try parseXML(Self.report.html)
    let rowNames = elements.filter { $0.name == "th" }.map(\.text)
    for accuracy in ExperimentTests.result.test where accuracy.key != "best" {
      #expect(rowNames.contains { $0.hasPrefix(accuracy.key) }, "\(accuracy.key)")
    }
    #expect(rowNames.contains("load"))
    #expect(rowNames.contains("fit_base_models"))
    #expect(rowNames.contains("intercept (stars)"))
    let header = elements.filter { $0.name == "th" }.map(\.text)
    #expect(header.contains("NDCG@\(ExperimentTests.result.rankingK)"))
  }

  @Test func pageEscapesDatasetSource() throws {
    let html = Self.report.html
    #expect(html.contains("data/&lt;tom &amp; jerry&apos;s&gt;.csv"))
    #expect(!html.contains("<tom"))
    let cells = try parseXML(html).filter { $0.name == "td" }.map(\.text)
    #expect(cells.contains("data/<tom & jerry's>.csv"))
  }

  @Test func writeCreatesEveryFile() throws {
    try withTemporaryDirectory { directory in
      let reportDirectory = directory + "/nested/report"
      try Self.report.write(directory: reportDirectory, logger: silentLogger)
      let expected = Self.report.charts.map(\.file) + ["report.html"]
      #expect(try directoryEntries(reportDirectory) == expected.sorted())
      for chart in Self.report.charts {
        let text = try String(contentsOfFile: reportDirectory + "/" + chart.file, encoding: .utf8)
        #expect(text == chart.svg.standaloneMarkup, "\(chart.file)")
      }
      let html = try String(contentsOfFile: reportDirectory + "/report.html", encoding: .utf8)
      #expect(html == Self.report.html)
    }
  }

  @Test func precomputeWritesPageBesideJSON() throws {
    try withTemporaryDirectory { directory in
      let ratings = randomRatings(userCount: 30, itemCount: 20, density: 0.5, seed: 9)
      var csv = "userId,movieId,rating,timestamp\n"
      for row in 0..<ratings.count {
        csv += "\(ratings.users[row] + 1),\(ratings.items[row] + 1),\(ratings.values[row]),\(row)\n"
      }
      let path = try writeFixture(csv, named: "ratings.csv", in: directory)
      let reportDirectory = directory + "/out"
      let settings = try PrecomputeCommand.parse([
        "--ratings", path, "--report-dir", reportDirectory, "--no-store", "--quiet",
        "--knn-neighbors", "5", "--mf-factors", "4", "--mf-epochs", "3",
      ])
      try PrecomputeCommand.run(settings, logger: silentLogger)

      let entries = try directoryEntries(reportDirectory)
      #expect(entries.contains("report.json"))
      #expect(entries.contains("report.html"))
      #expect(entries.filter { $0.hasSuffix(".svg") }.count == 6)
      let html = try String(contentsOfFile: reportDirectory + "/report.html", encoding: .utf8)
      _ = try parseXML(html)
      #expect(html.contains(path))
    }
  }
}
