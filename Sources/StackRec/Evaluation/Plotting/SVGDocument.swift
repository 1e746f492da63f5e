/// An SVG image built one element at a time.
///
/// Every text and attribute value is escaped for XML, and coordinates are
/// written with at most two decimals, so the output is well-formed and short:
///
/// ```
/// var svg = SVGDocument(width: 200, height: 100, title: "RMSE <by> model")
/// svg.rect(x: 10, y: 20, width: 30.125, height: 40, fill: "#3b6fb6")
/// svg.standaloneMarkup  // <?xml ...?><svg xmlns=...><title>RMSE &lt;by&gt; model</title>...
/// ```
struct SVGDocument: Sendable {
  let width: Double
  let height: Double
  let title: String
  private var body: [String] = []

  /// The namespace a standalone SVG file must declare. SVG inside an HTML
  /// page needs none.
  static let namespace = "http://www.w3.org/2000/svg"
  /// Fonts found on most systems. No font is downloaded.
  static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

  init(width: Double, height: Double, title: String) {
    self.width = width
    self.height = height
    self.title = title
  }

  /// The number of elements added so far.
  var elementCount: Int { body.count }

  /// The `<svg>` element, without a namespace, for embedding in HTML.
  var inlineMarkup: String { markup(namespace: nil) }

  /// A complete SVG file: XML declaration, namespace and the image.
  var standaloneMarkup: String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + markup(namespace: SVGDocument.namespace)
  }

  private func markup(namespace: String?) -> String {
    var attributes: [(String, String)] = []
    if let namespace { attributes.append(("xmlns", namespace)) }
    attributes += [
      ("width", format(width)), ("height", format(height)),
      ("viewBox", "0 0 \(format(width)) \(format(height))"), ("role", "img"),
      ("font-family", SVGDocument.fontFamily),
    ]
    var text = SVGDocument.openTag("svg", attributes) + "\n"
    text += "<title>\(escapeXML(title))</title>\n"
    for element in body { text += element + "\n" }
    return text + "</svg>\n"
  }

  /// Appends an element with `attributes` in order, an optional `<title>`
  /// child that browsers show on hover, and optional text content.
  mutating func element(
    _ name: String, _ attributes: [(String, String)], tooltip: String? = nil,
    text: String? = nil
  ) {
    let open = SVGDocument.openTag(name, attributes)
    if tooltip == nil && text == nil {
      body.append(String(open.dropLast()) + "/>")
      return
    }
    var content = open
    if let tooltip { content += "<title>\(escapeXML(tooltip))</title>" }
    if let text { content += escapeXML(text) }
    body.append(content + "</\(name)>")
  }

  mutating func rect(
    x: Double, y: Double, width: Double, height: Double, fill: String,
    opacity: Double = 1, stroke: String? = nil, crispEdges: Bool = false,
    className: String? = nil, tooltip: String? = nil
  ) {
    var attributes: [(String, String)] = [
      ("x", format(x)), ("y", format(y)),
      ("width", format(max(0, width))), ("height", format(max(0, height))), ("fill", fill),
    ]
    if opacity < 1 { attributes.append(("fill-opacity", format(opacity))) }
    // Turning off anti-aliasing keeps hairline seams out of tiled cells.
    if crispEdges { attributes.append(("shape-rendering", "crispEdges")) }
    if let stroke { attributes += [("stroke", stroke), ("stroke-width", "1")] }
    if let className { attributes.append(("class", className)) }
    element("rect", attributes, tooltip: tooltip)
  }

  mutating func line(
    x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, strokeWidth: Double = 1,
    dashed: Bool = false, className: String? = nil
  ) {
    var attributes: [(String, String)] = [
      ("x1", format(x1)), ("y1", format(y1)), ("x2", format(x2)), ("y2", format(y2)),
      ("stroke", stroke), ("stroke-width", format(strokeWidth)),
    ]
    if dashed { attributes.append(("stroke-dasharray", "6 4")) }
    if let className { attributes.append(("class", className)) }
    element("line", attributes)
  }

  mutating func polyline(
    _ points: [(x: Double, y: Double)], stroke: String, strokeWidth: Double = 2,
    className: String? = nil
  ) {
    let coordinates = points.map { "\(format($0.x)),\(format($0.y))" }.joined(separator: " ")
    var attributes: [(String, String)] = [
      ("points", coordinates), ("fill", "none"), ("stroke", stroke),
      ("stroke-width", format(strokeWidth)), ("stroke-linejoin", "round"),
    ]
    if let className { attributes.append(("class", className)) }
    element("polyline", attributes)
  }

  mutating func circle(
    x: Double, y: Double, radius: Double, fill: String, stroke: String? = nil,
    className: String? = nil, tooltip: String? = nil
  ) {
    var attributes: [(String, String)] = [
      ("cx", format(x)), ("cy", format(y)), ("r", format(radius)), ("fill", fill),
    ]
    if let stroke { attributes += [("stroke", stroke), ("stroke-width", "1.5")] }
    if let className { attributes.append(("class", className)) }
    element("circle", attributes, tooltip: tooltip)
  }

  /// The point of a text that its (x, y) position places.
  enum Anchor: String, Sendable {
    case start, middle, end
  }

  /// Appends text whose baseline passes through (x, y), turned by `rotation`
  /// degrees (clockwise) around that point.
  mutating func text(
    _ content: String, x: Double, y: Double, size: Double = 13, anchor: Anchor = .start,
    rotation: Double = 0, bold: Bool = false, fill: String = "#222", className: String? = nil,
    tooltip: String? = nil
  ) {
    var attributes: [(String, String)] = [
      ("x", format(x)), ("y", format(y)), ("font-size", format(size)), ("fill", fill),
    ]
    if anchor != .start { attributes.append(("text-anchor", anchor.rawValue)) }
    if rotation != 0 {
      attributes.append(("transform", "rotate(\(format(rotation)) \(format(x)) \(format(y)))"))
    }
    if bold { attributes.append(("font-weight", "bold")) }
    if let className { attributes.append(("class", className)) }
    element("text", attributes, tooltip: tooltip, text: content)
  }

  private static func openTag(_ name: String, _ attributes: [(String, String)]) -> String {
    var tag = "<" + name
    for (key, value) in attributes { tag += " \(key)=\"\(escapeXML(value))\"" }
    return tag + ">"
  }

  /// Formats a coordinate with at most two decimals, because a hundredth of
  /// a pixel is below what a screen shows.
  private func format(_ value: Double) -> String {
    formatNumber(value, decimals: 2, trimZeros: true)
  }
}
