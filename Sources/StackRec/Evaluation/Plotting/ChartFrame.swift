import Foundation

/// Chart builders. Each takes plain arrays of numbers and labels and returns
/// an SVG document with a title, labelled axes and ticks at 1-2-5 steps.
enum Chart {}

/// The layout every chart shares: the image size, a title block at the top,
/// and margins around the plot area that hold the axes and their labels.
///
/// ```
/// +------------------------------------------+
/// | Title                                     |
/// | subtitle                                  |
/// | [legend]                                  |
/// |      +-----------------------------+      |
/// | axis |         plot area           |      |
/// |      +-----------------------------+      |
/// |            tick labels, axis label        |
/// +------------------------------------------+
/// ```
struct ChartFrame: Sendable {
  var width: Double
  var height: Double
  var title: String
  /// Lines under the title, wrapped to the image width.
  var subtitleLines: [String]
  /// The number of legend rows between the subtitle and the plot area.
  var legendRows: Int
  /// Margins around the plot area, in pixels.
  var left: Double
  var right: Double
  var bottom: Double

  static let titleSize = 18.0
  static let textSize = 13.0
  static let lineHeight = 18.0

  init(
    width: Double, height: Double, title: String, subtitle: String?, legendRows: Int = 0,
    left: Double = 72, right: Double = 24, bottom: Double = 56
  ) {
    self.width = width
    self.height = height
    self.title = title
    let available = width - 32
    subtitleLines = subtitle.map { wrapped($0, width: available, size: ChartFrame.textSize) } ?? []
    self.legendRows = legendRows
    self.left = left
    self.right = right
    self.bottom = bottom
  }

  /// The top margin: title, subtitle lines, legend rows and a gap.
  var top: Double {
    40 + Double(subtitleLines.count) * ChartFrame.lineHeight + Double(legendRows) * 24 + 14
  }

  var plotLeft: Double { left }
  var plotRight: Double { width - right }
  var plotTop: Double { top }
  var plotBottom: Double { height - bottom }

  /// Creates a document with a white background, the title and the subtitle.
  func makeDocument() -> SVGDocument {
    var svg = SVGDocument(width: width, height: height, title: title)
    svg.rect(x: 0, y: 0, width: width, height: height, fill: "#ffffff")
    svg.text(title, x: 16, y: 28, size: ChartFrame.titleSize, bold: true, className: "title")
    for (index, line) in subtitleLines.enumerated() {
      let y = 50 + Double(index) * ChartFrame.lineHeight
      svg.text(line, x: 16, y: y, size: ChartFrame.textSize, fill: "#555", className: "subtitle")
    }
    return svg
  }

  /// Draws about `tickCount` tick labels and grid lines for `scale` on the
  /// left, and `label` turned upright along the axis.
  func drawYAxis(
    _ svg: inout SVGDocument, scale: LinearScale, tickCount: Int, label: String,
    grouping: Bool = false
  ) {
    let decimals = LinearScale.decimals(of: scale.tickStep(count: tickCount))
    for tick in scale.ticks(count: tickCount) {
      let y = scale.position(tick)
      svg.line(x1: plotLeft, y1: y, x2: plotRight, y2: y, stroke: "#e2e2e2", className: "grid")
      svg.text(
        formatNumber(tick, decimals: decimals, grouping: grouping), x: plotLeft - 8, y: y + 4,
        size: ChartFrame.textSize, anchor: .end, fill: "#444", className: "tick")
    }
    let middle = (plotTop + plotBottom) / 2
    svg.text(
      label, x: 18, y: middle, size: ChartFrame.textSize, anchor: .middle, rotation: -90,
      className: "axis-label")
  }

  /// Draws the x axis line, about `tickCount` tick marks and labels for
  /// `scale`, and `label` centred below them.
  func drawXAxis(_ svg: inout SVGDocument, scale: LinearScale, tickCount: Int, label: String) {
    let decimals = LinearScale.decimals(of: scale.tickStep(count: tickCount))
    svg.line(x1: plotLeft, y1: plotBottom, x2: plotRight, y2: plotBottom, stroke: "#444")
    for tick in scale.ticks(count: tickCount) {
      let x = scale.position(tick)
      svg.line(x1: x, y1: plotBottom, x2: x, y2: plotBottom + 5, stroke: "#444")
      svg.text(
        formatNumber(tick, decimals: decimals), x: x, y: plotBottom + 20,
        size: ChartFrame.textSize, anchor: .middle, fill: "#444", className: "tick")
    }
    drawXLabel(&svg, label)
  }

  func drawXLabel(_ svg: inout SVGDocument, _ label: String) {
    svg.text(
      label, x: (plotLeft + plotRight) / 2, y: height - 12, size: ChartFrame.textSize,
      anchor: .middle, className: "axis-label")
  }

  /// Draws a row of colour keys above the plot area, after an optional
  /// `caption`. Row 0 is the top row.
  func drawLegend(
    _ svg: inout SVGDocument, _ entries: [LegendEntry], caption: String? = nil, row: Int = 0
  ) {
    var x = plotLeft
    let y = plotTop - 28 - Double(legendRows - 1 - row) * 24
    if let caption {
      svg.text(caption, x: x, y: y + 12, size: ChartFrame.textSize, fill: "#444")
      x += estimatedTextWidth(caption, size: ChartFrame.textSize) + 8
    }
    for entry in entries {
      let keyWidth = entry.key == .box ? 14.0 : 24.0
      switch entry.key {
      case .box:
        svg.rect(
          x: x, y: y, width: keyWidth, height: 14, fill: entry.color, opacity: entry.opacity,
          stroke: entry.color, className: "legend-key")
      case .line, .dashedLine:
        svg.line(
          x1: x, y1: y + 7, x2: x + keyWidth, y2: y + 7, stroke: entry.color, strokeWidth: 2,
          dashed: entry.key == .dashedLine, className: "legend-key")
      }
      svg.text(
        entry.label, x: x + keyWidth + 6, y: y + 12, size: ChartFrame.textSize,
        className: "legend")
      x += keyWidth + 6 + estimatedTextWidth(entry.label, size: ChartFrame.textSize) + 20
    }
  }
}

/// One colour key of a chart legend.
struct LegendEntry: Sendable, Equatable {
  /// The mark drawn beside the label: a filled box for areas, a short
  /// stroke for lines.
  enum Key: Sendable, Equatable {
    case box, line, dashedLine
  }

  var label: String
  var color: String
  var opacity: Double = 1
  var key = Key.box
}

/// The colours of the charts: a blue and an orange for data series, and a
/// neutral grey.
enum ChartColor {
  static let blue = "#3b6fb6"
  static let orange = "#e08a2c"
  static let grey = "#8a8a8a"
  static let text = "#222222"
}
