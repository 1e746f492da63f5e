import Foundation

/// A line drawn over a chart's data, in data coordinates.
struct ChartLine: Sendable {
  var label: String
  var points: [(x: Double, y: Double)]
  var color: String
  var dashed = false
  /// Draws a dot at each point as well.
  var markers = false
}

extension Chart {
  /// Draws a 2-D histogram of (x, y) pairs. The plane is cut into `xBins` by
  /// `yBins` cells, and each non-empty cell gets a colour for its count.
  /// The colour follows the logarithm of the count, so a few crowded cells
  /// do not wash out the rest. Unlike a scatter plot, the image stays
  /// readable and small with any number of points.
  ///
  /// Each non-empty cell is a `rect` of class `cell`; values beyond the bins
  /// fall in the edge cells. `lines` are drawn on top, as polylines of class
  /// `line` (and dots of class `marker`), and listed in the legend.
  static func densityPlot(
    title: String, subtitle: String? = nil, x: [Double], y: [Double], xBins: HistogramBins,
    yBins: HistogramBins, xLabel: String, yLabel: String, lines: [ChartLine] = [],
    xTickCount: Int = 10, yTickCount: Int = 8, width: Double = 600, height: Double = 560
  ) -> SVGDocument {
    precondition(
      x.count == y.count, "a density plot needs pairs, got \(x.count) x and \(y.count) y values")
    var counts = [Int](repeating: 0, count: xBins.count * yBins.count)
    for (valueX, valueY) in zip(x, y) where valueX.isFinite && valueY.isFinite {
      counts[xBins.index(of: valueX) * yBins.count + yBins.index(of: valueY)] += 1
    }
    let highest = counts.max() ?? 0

    let frame = ChartFrame(
      width: width, height: height, title: title, subtitle: subtitle,
      legendRows: lines.isEmpty ? 1 : 2, left: 64)
    var svg = frame.makeDocument()
    let xScale = LinearScale(
      domain: xBins.start...xBins.end, range: frame.plotLeft...frame.plotRight)
    let yScale = LinearScale(
      domain: yBins.start...yBins.end, range: frame.plotTop...frame.plotBottom, inverted: true)
    frame.drawYAxis(&svg, scale: yScale, tickCount: yTickCount, label: yLabel)

    let xDecimals = LinearScale.decimals(of: xBins.width)
    let yDecimals = LinearScale.decimals(of: yBins.width)
    for column in 0..<xBins.count {
      for row in 0..<yBins.count where counts[column * yBins.count + row] > 0 {
        let count = counts[column * yBins.count + row]
        let left = xScale.position(xBins.lowerEdge(column))
        let right = xScale.position(xBins.lowerEdge(column) + xBins.width)
        let top = yScale.position(yBins.lowerEdge(row) + yBins.width)
        let bottom = yScale.position(yBins.lowerEdge(row))
        let tooltip = "x " + formatNumber(xBins.lowerEdge(column), decimals: xDecimals)
          + " to " + formatNumber(xBins.lowerEdge(column) + xBins.width, decimals: xDecimals)
          + ", y " + formatNumber(yBins.lowerEdge(row), decimals: yDecimals)
          + " to " + formatNumber(yBins.lowerEdge(row) + yBins.width, decimals: yDecimals)
          + ": " + formatNumber(Double(count), decimals: 0, grouping: true)
        svg.rect(
          x: left, y: top, width: right - left, height: bottom - top,
          fill: densityColor(count: count, highest: highest), crispEdges: true,
          className: "cell", tooltip: tooltip)
      }
    }

    for line in lines {
      let points = line.points.map { (x: xScale.position($0.x), y: yScale.position($0.y)) }
      if line.dashed {
        for (from, to) in zip(points, points.dropFirst()) {
          svg.line(
            x1: from.x, y1: from.y, x2: to.x, y2: to.y, stroke: line.color, strokeWidth: 1.5,
            dashed: true, className: "line")
        }
      } else {
        svg.polyline(points, stroke: line.color, className: "line")
      }
      if line.markers {
        for point in points {
          svg.circle(
            x: point.x, y: point.y, radius: 3.5, fill: line.color, stroke: "#ffffff",
            className: "marker")
        }
      }
    }
    frame.drawXAxis(&svg, scale: xScale, tickCount: xTickCount, label: xLabel)

    // Colour keys at powers of ten up to the largest count.
    var keys: [LegendEntry] = []
    var level = 1
    while level <= max(highest, 1) {
      let label = formatNumber(Double(level), decimals: 0, grouping: true)
      keys.append(LegendEntry(label: label, color: densityColor(count: level, highest: highest)))
      level *= 10
    }
    frame.drawLegend(&svg, keys, caption: "pairs per cell:", row: 0)
    if !lines.isEmpty {
      let entries = lines.map {
        LegendEntry(label: $0.label, color: $0.color, key: $0.dashed ? .dashedLine : .line)
      }
      frame.drawLegend(&svg, entries, row: 1)
    }
    return svg
  }

  /// Returns the fill of a cell with `count` of at most `highest` pairs:
  /// light yellow for one pair, through teal, to dark blue for the fullest
  /// cell, by the logarithm of the count.
  static func densityColor(count: Int, highest: Int) -> String {
    let stops: [(Double, Double, Double)] = [(253, 233, 169), (65, 182, 196), (37, 52, 148)]
    let fraction = highest > 1
      ? log(Double(max(count, 1))) / log(Double(highest)) : 0
    let position = min(max(fraction, 0), 1) * Double(stops.count - 1)
    let index = min(Int(position), stops.count - 2)
    let t = position - Double(index)
    let (from, to) = (stops[index], stops[index + 1])
    func channel(_ a: Double, _ b: Double) -> String {
      let value = Int((a + (b - a) * t).rounded())
      let hex = String(value, radix: 16)
      return hex.count < 2 ? "0" + hex : hex
    }
    return "#" + channel(from.0, to.0) + channel(from.1, to.1) + channel(from.2, to.2)
  }
}
