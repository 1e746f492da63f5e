import Testing

@testable import StackRec

@Suite struct ChartTests {
  // MARK: - Bins

  @Test func centeredBinsCoverHalfStars() {
    let bins = HistogramBins.centered(from: 0.5, through: 5, width: 0.5)
    #expect(bins.count == 10)
    #expect(bins.start == 0.25)
    #expect(bins.end == 5.25)
    #expect(bins.index(of: 0.5) == 0)
    #expect(bins.index(of: 4) == 7)
    #expect(bins.index(of: 5) == 9)
  }

  @Test func coveringBinsHoldExtremes() {
    let bins = HistogramBins.covering([-0.3, 1.27, 4.99], width: 0.1)
    #expect(isClose(bins.start, -0.3))
    #expect(bins.index(of: -0.3) == 0)
    #expect(bins.index(of: 4.99) == bins.count - 1)
    #expect(bins.end > 4.99)
  }

  @Test func outOfRangeValuesFallInEndBins() {
    let bins = HistogramBins(start: 0, width: 1, count: 3)
    #expect(bins.counts([-5, 0, 1.5, 2.999, 3, 40, .nan, .infinity]) == [2, 1, 3])
  }

  // MARK: - Histogram

  static let ratings: [Double] = [0.5, 1, 3, 3, 3.5, 4, 4, 4, 4.5, 5, 5]

  @Test func histogramDrawsEveryBin() throws {
    let series = HistogramSeries(label: "ratings", values: Self.ratings, color: "#00f")
    let svg = Chart.histogram(
      title: "Ratings", series: [series],
      bins: .centered(from: 0.5, through: 5, width: 0.5), xLabel: "rating (stars)",
      yLabel: "ratings")
    let elements = try parseXML(svg.standaloneMarkup)
    let bins = elements.withClass("bin")
    #expect(bins.count == 10)
    #expect(bins.compactMap(tooltipCount) == [1, 1, 0, 0, 0, 2, 1, 3, 1, 2])
    #expect(elements.texts(ofClass: "axis-label").sorted() == ["rating (stars)", "ratings"])
    #expect(elements.texts(ofClass: "title") == ["Ratings"])

    // Bar heights are proportional to the counts.
    let heights = bins.compactMap { $0.number("height") }
    #expect(heights[2] == 0)
    #expect(isClose(heights[7], 3 * heights[0], tolerance: 0.02))
  }

  @Test func histogramPlacesSeriesSideBySide() throws {
    let svg = Chart.histogram(
      title: "Errors",
      series: [
        HistogramSeries(label: "a", values: [-1, 0, 0.1], color: "#00f"),
        HistogramSeries(label: "b", values: [0.2, 1.9], color: "#f80"),
      ],
      bins: HistogramBins(start: -2, width: 0.5, count: 8), xLabel: "error (stars)",
      yLabel: "ratings")
    let elements = try parseXML(svg.standaloneMarkup)
    let bins = elements.withClass("bin")
    #expect(bins.count == 16)
    #expect(bins.compactMap(tooltipCount).reduce(0, +) == 5)
    // Within a bin, the second series' bar starts where the first one ends.
    let first = try #require(bins.first)
    let second = bins[1]
    let end = try #require(first.number("x")) + (try #require(first.number("width")))
    #expect(isClose(try #require(second.number("x")), end, tolerance: 0.02))
    #expect(elements.texts(ofClass: "legend") == ["a", "b"])
  }

  @Test func countAxisTicksAreNiceAndGrouped() throws {
    let values = [Double](repeating: 3, count: 27_000) + [Double](repeating: 4, count: 100)
    let svg = Chart.histogram(
      title: "t", series: [HistogramSeries(label: "r", values: values, color: "#00f")],
      bins: .centered(from: 0.5, through: 5, width: 0.5), xLabel: "x", yLabel: "y")
    let ticks = try parseXML(svg.standaloneMarkup).texts(ofClass: "tick")
    #expect(ticks.starts(with: ["0", "10,000", "20,000", "30,000"]))
    let xTicks = ["0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0"]
    #expect(Array(ticks.dropFirst(4)) == xTicks)
  }

  // MARK: - Bar chart

  @Test func barChartDrawsOneBarPerLabel() throws {
    let labels = ["bias", "item_knn", "mf"]
    let svg = Chart.barChart(
      title: "Weights", labels: labels, values: [0.4, -0.25, 0.9], valueLabel: "weight")
    let elements = try parseXML(svg.standaloneMarkup)
    let bars = elements.withClass("bar")
    #expect(bars.count == 3)
    #expect(elements.texts(ofClass: "category") == labels)
    #expect(elements.texts(ofClass: "value") == ["0.400", "-0.250", "0.900"])
    #expect(elements.texts(ofClass: "axis-label") == ["weight"])

    // Positive bars end at the zero line and the negative one starts there.
    let zero = try #require(elements.withClass("zero").first?.number("y1"))
    let positive = try #require(bars.first)
    let negative = bars[1]
    let positiveTop = try #require(positive.number("y"))
    let positiveBottom = positiveTop + (try #require(positive.number("height")))
    #expect(isClose(positiveBottom, zero, tolerance: 0.02))
    #expect(isClose(try #require(negative.number("y")), zero, tolerance: 0.02))
    #expect(try #require(negative.number("height")) > 0)
  }

  @Test func shortLabelsStayHorizontal() throws {
    let svg = Chart.barChart(
      title: "t", labels: ["a", "b", "c"], values: [1, 2, 3], valueLabel: "v")
    let categories = try parseXML(svg.standaloneMarkup).withClass("category")
    #expect(categories.allSatisfy { $0.attributes["transform"] == nil })
    #expect(categories.allSatisfy { $0.attributes["text-anchor"] == "middle" })
  }

  @Test func crowdedLabelsAreRotated() throws {
    let labels = (1...14).map { "knn_baseline_\($0)" }
    let svg = Chart.barChart(
      title: "t", labels: labels, values: labels.map { _ in 0.9 }, valueLabel: "v")
    let categories = try parseXML(svg.standaloneMarkup).withClass("category")
    #expect(categories.count == 14)
    #expect(categories.allSatisfy { $0.attributes["transform"]?.hasPrefix("rotate(-35 ") == true })
    #expect(categories.allSatisfy { $0.attributes["text-anchor"] == "end" })
  }

  @Test func longLabelsAreAbbreviated() throws {
    let label = "a_model_with_a_very_long_key"
    let svg = Chart.barChart(title: "t", labels: [label], values: [1], valueLabel: "v")
    let category = try #require(try parseXML(svg.standaloneMarkup).withClass("category").first)
    #expect(category.text.count == Chart.maxLabelCharacters)
    #expect(category.text.hasSuffix("\u{2026}"))
    #expect(category.tooltip == label)
  }

  // MARK: - Density plot

  @Test func densityPlotFillsNonEmptyCells() throws {
    // Truth on half stars and predictions spread around it.
    var truth: [Double] = []
    var predicted: [Double] = []
    var generator = SeededGenerator(seed: 5)
    for _ in 0..<500 {
      let value = Double(1 + generator.nextInt(below: 10)) / 2
      truth.append(value)
      predicted.append(value + (generator.nextUnit() - 0.5) * 1.6)
    }
    let xBins = HistogramBins.centered(from: 0.5, through: 5, width: 0.5)
    let yBins = HistogramBins(start: -0.5, width: 0.25, count: 26)
    let svg = Chart.densityPlot(
      title: "True vs predicted", x: truth, y: predicted, xBins: xBins, yBins: yBins,
      xLabel: "true rating (stars)", yLabel: "predicted rating (stars)",
      lines: [ChartLine(label: "y = x", points: [(0.5, 0.5), (5, 5)], color: "#333", dashed: true)])
    let elements = try parseXML(svg.standaloneMarkup)

    // The cells, counted here with a plain loop over whole half and quarter stars.
    var occupied = Set<[Int]>()
    for (x, y) in zip(truth, predicted) {
      let column = Int(((x - 0.25) / 0.5).rounded(.down))
      let row = min(max(Int(((y + 0.5) / 0.25).rounded(.down)), 0), 25)
      occupied.insert([column, row])
    }
    let cells = elements.withClass("cell")
    #expect(cells.count == occupied.count)
    #expect(cells.compactMap(tooltipCount).reduce(0, +) == 500)
    #expect(elements.withClass("line").count == 1)
    #expect(
      elements.texts(ofClass: "axis-label").sorted()
        == ["predicted rating (stars)", "true rating (stars)"])
  }

  @Test func densityColorsDarkenWithCount() {
    #expect(Chart.densityColor(count: 1, highest: 100) == "#fde9a9")
    #expect(Chart.densityColor(count: 100, highest: 100) == "#253494")
    #expect(Chart.densityColor(count: 1, highest: 1) == "#fde9a9")
    #expect(Chart.densityColor(count: 10, highest: 100) == "#41b6c4")
  }
}
