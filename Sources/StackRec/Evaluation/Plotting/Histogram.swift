import Foundation

/// Equal-width bins: bin `i` covers `[start + i * width, start + (i + 1) * width)`.
struct HistogramBins: Sendable, Equatable {
  var start: Double
  var width: Double
  var count: Int

  init(start: Double, width: Double, count: Int) {
    precondition(width > 0 && width.isFinite, "bin width must be positive, got \(width)")
    precondition(count > 0, "a histogram needs at least one bin, got \(count)")
    self.start = start
    self.width = width
    self.count = count
  }

  /// Bins of `width` centred on `lower`, `lower + width`, ... up to `upper`,
  /// such as one bin per half star from 0.5 to 5 stars.
  static func centered(from lower: Double, through upper: Double, width: Double)
    -> HistogramBins
  {
    let count = Int(((upper - lower) / width).rounded()) + 1
    return HistogramBins(start: lower - width / 2, width: width, count: max(count, 1))
  }

  /// Bins of `width` with edges at multiples of `width`, from the bin that
  /// contains the smallest of `values` to the bin that contains the largest.
  static func covering(_ values: [Double], width: Double) -> HistogramBins {
    let finite = values.filter(\.isFinite)
    guard let low = finite.min(), let high = finite.max() else {
      return HistogramBins(start: 0, width: width, count: 1)
    }
    let start = (low / width).rounded(.down) * width
    let count = Int(((high - start) / width).rounded(.down)) + 1
    return HistogramBins(start: start, width: width, count: count)
  }

  /// The upper edge of the last bin.
  var end: Double { start + Double(count) * width }

  func lowerEdge(_ index: Int) -> Double { start + Double(index) * width }

  /// Returns the bin that contains `value`. Values beyond either end fall in
  /// the end bins.
  func index(of value: Double) -> Int {
    let position = ((value - start) / width).rounded(.down)
    guard position.isFinite else { return 0 }
    return Int(min(max(position, 0), Double(count - 1)))
  }

  /// Counts the `values` in each bin, skipping non-finite values.
  func counts(_ values: [Double]) -> [Int] {
    var counts = [Int](repeating: 0, count: count)
    for value in values where value.isFinite { counts[index(of: value)] += 1 }
    return counts
  }
}

/// One data set of a histogram, drawn in its own colour.
struct HistogramSeries: Sendable {
  var label: String
  var values: [Double]
  var color: String
}

extension Chart {
  /// Draws a histogram of one or more series over the same bins. With several
  /// series, each bin contains one bar per series side by side, and a legend
  /// names the series.
  ///
  /// Every bin of every series is drawn as one `rect` of class `bin`, empty
  /// bins at zero height, so the image holds `series.count * bins.count`
  /// bins. Hovering a bin shows its range and count.
  static func histogram(
    title: String, subtitle: String? = nil, series: [HistogramSeries], bins: HistogramBins,
    xLabel: String, yLabel: String, xTickCount: Int = 10, width: Double = 1200,
    height: Double = 400
  ) -> SVGDocument {
    let counts = series.map { bins.counts($0.values) }
    let highest = Double(counts.joined().max() ?? 0)
    let frame = ChartFrame(
      width: width, height: height, title: title, subtitle: subtitle,
      legendRows: series.count > 1 ? 1 : 0, left: 84)
    var svg = frame.makeDocument()
    let x = LinearScale(
      domain: bins.start...bins.end, range: frame.plotLeft...frame.plotRight)
    let y = LinearScale(
      domain: 0...max(highest, 1), range: frame.plotTop...frame.plotBottom, inverted: true
    ).niced(count: 5)

    frame.drawYAxis(&svg, scale: y, tickCount: 5, label: yLabel, grouping: true)
    let edgeDecimals = LinearScale.decimals(of: bins.width)
    for bin in 0..<bins.count {
      let lower = bins.lowerEdge(bin)
      let range = formatNumber(lower, decimals: edgeDecimals) + " to "
        + formatNumber(lower + bins.width, decimals: edgeDecimals)
      let left = x.position(lower)
      let binWidth = x.position(lower + bins.width) - left
      let gap = min(1, binWidth / 8)
      let barWidth = (binWidth - 2 * gap) / Double(max(series.count, 1))
      for (index, item) in series.enumerated() {
        let count = counts[index][bin]
        let top = y.position(Double(count))
        svg.rect(
          x: left + gap + Double(index) * barWidth, y: top, width: barWidth,
          height: frame.plotBottom - top, fill: item.color, opacity: 0.85, className: "bin",
          tooltip: "\(item.label), \(range): "
            + formatNumber(Double(count), decimals: 0, grouping: true))
      }
    }
    frame.drawXAxis(&svg, scale: x, tickCount: xTickCount, label: xLabel)
    if series.count > 1 {
      frame.drawLegend(&svg, series.map { LegendEntry(label: $0.label, color: $0.color) })
    }
    return svg
  }
}
