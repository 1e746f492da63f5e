import Foundation

extension Chart {
  /// The maximum length in characters of a category label drawn in full.
  /// Longer labels end in an ellipsis, and the full label shows on hover.
  static let maxLabelCharacters = 18
  /// The angle of category labels too wide for their bars, in degrees.
  static let labelRotation = -35.0

  /// Draws a vertical bar chart with one bar per label, in the order given. Bars
  /// grow up from zero for positive values and down for negative ones, and
  /// each bar's value is printed at its end.
  ///
  /// Each bar is a `rect` of class `bar`. Labels wider than their bar are
  /// turned by `labelRotation` degrees, and the bottom margin grows to fit.
  ///
  /// - Parameters:
  ///   - colors: a fill per bar; by default every bar is blue.
  ///   - legend: colour keys drawn above the plot, when `colors` mean something.
  ///   - valueDecimals: decimals of the printed values.
  static func barChart(
    title: String, subtitle: String? = nil, labels: [String], values: [Double],
    valueLabel: String, colors: [String]? = nil, legend: [LegendEntry] = [],
    valueDecimals: Int = 3, width: Double = 1200, height: Double = 420
  ) -> SVGDocument {
    precondition(
      labels.count == values.count,
      "a bar chart needs one value per label, got \(labels.count) labels and "
        + "\(values.count) values")
    let displayedLabels = labels.map { abbreviated($0, maxCharacters: maxLabelCharacters) }
    let size = ChartFrame.textSize
    let widest = displayedLabels.map { estimatedTextWidth($0, size: size) }.max() ?? 0

    // The band width depends only on the width, so it decides the rotation
    // and the rotation decides the bottom margin.
    var frame = ChartFrame(
      width: width, height: height, title: title, subtitle: subtitle,
      legendRows: legend.isEmpty ? 0 : 1)
    let bands = BandScale(count: labels.count, range: frame.plotLeft...frame.plotRight)
    let rotated = widest > bands.step * 0.95
    if rotated {
      frame.bottom = 24 + widest * sin(-labelRotation * .pi / 180) + size + 30
    }

    let finite = values.filter(\.isFinite)
    let low = min(0, finite.min() ?? 0)
    let high = max(0, finite.max() ?? 1)
    // Room beyond the longest bars for their printed values.
    let headroom = (high - low) * 0.08
    var svg = frame.makeDocument()
    let y = LinearScale(
      domain: (low < 0 ? low - headroom : 0)...(high > 0 ? high + headroom : 0),
      range: frame.plotTop...frame.plotBottom, inverted: true
    ).niced(count: 6)
    frame.drawYAxis(&svg, scale: y, tickCount: 6, label: valueLabel)

    let zero = y.position(0)
    for (index, value) in values.enumerated() where value.isFinite {
      let end = y.position(value)
      let text = formatNumber(value, decimals: valueDecimals)
      svg.rect(
        x: bands.start(index), y: min(zero, end), width: bands.bandwidth,
        height: abs(end - zero), fill: colors?[index] ?? ChartColor.blue, className: "bar",
        tooltip: "\(labels[index]): \(text)")
      svg.text(
        text, x: bands.center(index), y: value >= 0 ? end - 6 : end + size + 4, size: size,
        anchor: .middle, className: "value")
    }
    svg.line(
      x1: frame.plotLeft, y1: zero, x2: frame.plotRight, y2: zero, stroke: "#444",
      strokeWidth: 1.5, className: "zero")

    for (index, label) in displayedLabels.enumerated() {
      let tooltip = label == labels[index] ? nil : labels[index]
      if rotated {
        svg.text(
          label, x: bands.center(index), y: frame.plotBottom + 14, size: size, anchor: .end,
          rotation: labelRotation, className: "category", tooltip: tooltip)
      } else {
        svg.text(
          label, x: bands.center(index), y: frame.plotBottom + 20, size: size, anchor: .middle,
          className: "category", tooltip: tooltip)
      }
    }
    if !legend.isEmpty { frame.drawLegend(&svg, legend) }
    return svg
  }
}
