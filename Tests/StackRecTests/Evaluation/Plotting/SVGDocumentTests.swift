import Testing

@testable import StackRec

@Suite struct SVGDocumentTests {
  static let escapeCases: [(text: String, escaped: String)] = [
    ("plain", "plain"),
    ("MF & kNN", "MF &amp; kNN"),
    ("<svg>", "&lt;svg&gt;"),
    ("say \"best\"", "say &quot;best&quot;"),
    ("Schindler's List", "Schindler&apos;s List"),
    ("bell\u{07}", "bell\u{FFFD}"),
    ("tab\tand line\n", "tab\tand line\n"),
    ("Amélie, 5\u{2605}", "Amélie, 5\u{2605}"),
    ("&amp;", "&amp;amp;"),
  ]

  @Test(arguments: escapeCases)
  func escapeXMLReplacesMarkup(_ testCase: (text: String, escaped: String)) {
    #expect(escapeXML(testCase.text) == testCase.escaped)
  }

  @Test func specialCharactersSurviveParsing() throws {
    let title = "Tom & Jerry's \"<best>\" model\u{01}"
    var svg = SVGDocument(width: 100, height: 50, title: title)
    svg.text(title, x: 5, y: 20, className: "label", tooltip: "a < b & c")
    svg.rect(x: 0, y: 0, width: 10, height: 10, fill: "#fff", className: "x\"y")

    let elements = try parseXML(svg.standaloneMarkup)
    let expected = "Tom & Jerry's \"<best>\" model\u{FFFD}"
    #expect(elements.first?.name == "svg")
    #expect(elements.first?.tooltip == expected)
    let label = try #require(elements.withClass("label").first)
    #expect(label.text == expected)
    #expect(label.tooltip == "a < b & c")
    #expect(elements.withClass("x\"y").count == 1)
  }

  @Test func standaloneFileDeclaresNamespace() throws {
    let svg = SVGDocument(width: 640, height: 480, title: "t")
    #expect(svg.standaloneMarkup.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "))
    let root = try #require(try parseXML(svg.standaloneMarkup).first)
    #expect(root.attributes["xmlns"] == SVGDocument.namespace)
    #expect(root.attributes["viewBox"] == "0 0 640 480")
  }

  @Test func inlineMarkupHasNoURL() throws {
    let svg = SVGDocument(width: 640, height: 480, title: "t")
    #expect(svg.inlineMarkup.hasPrefix("<svg "))
    #expect(!svg.inlineMarkup.contains("http"))
    _ = try parseXML(svg.inlineMarkup)
  }

  @Test func coordinatesKeepTwoDecimals() throws {
    var svg = SVGDocument(width: 100, height: 100, title: "t")
    svg.rect(x: 10.12345, y: 3, width: 2.5, height: -4, fill: "red")
    let rect = try #require(try parseXML(svg.standaloneMarkup).first { $0.name == "rect" })
    #expect(rect.attributes["x"] == "10.12")
    #expect(rect.attributes["y"] == "3")
    #expect(rect.attributes["width"] == "2.5")
    #expect(rect.attributes["height"] == "0")
  }

  @Test func emptyElementsSelfClose() {
    var svg = SVGDocument(width: 10, height: 10, title: "t")
    svg.line(x1: 0, y1: 0, x2: 1, y2: 1, stroke: "#000")
    #expect(svg.inlineMarkup.contains("<line x1=\"0\" y1=\"0\" x2=\"1\" y2=\"1\""))
    #expect(svg.inlineMarkup.contains("/>"))
    #expect(svg.elementCount == 1)
  }

  static let numberCases:
    [(value: Double, decimals: Int, trim: Bool, grouping: Bool, text: String)] = [
      (2.5, 2, true, false, "2.5"),
      (3, 2, true, false, "3"),
      (3, 1, false, false, "3.0"),
      (-1.234, 2, false, false, "-1.23"),
      (-0.001, 2, true, false, "0"),
      (-0.004, 2, false, false, "0.00"),
      (0.125, 2, false, false, "0.13"),
      (0.8603, 4, false, false, "0.8603"),
      (20_168, 0, false, true, "20,168"),
      (999, 0, false, true, "999"),
      (1_000, 0, false, true, "1,000"),
      (-1_234_567.891, 1, false, true, "-1,234,567.9"),
      (100_836, 0, false, false, "100836"),
      (.nan, 2, false, false, "NaN"),
      (-.infinity, 2, false, false, "-inf"),
    ]

  @Test(arguments: numberCases)
  func formatNumberIsCompact(
    _ testCase: (value: Double, decimals: Int, trim: Bool, grouping: Bool, text: String)
  ) {
    let text = formatNumber(
      testCase.value, decimals: testCase.decimals, trimZeros: testCase.trim,
      grouping: testCase.grouping)
    #expect(text == testCase.text)
  }

  @Test func abbreviationKeepsShortLabels() {
    #expect(abbreviated("item_knn", maxCharacters: 18) == "item_knn")
    #expect(abbreviated("a_very_long_model_name_indeed", maxCharacters: 10) == "a_very_lo\u{2026}")
    #expect(abbreviated("a_very_long_model_name_indeed", maxCharacters: 10).count == 10)
  }

  @Test func wrappingKeepsLinesNarrow() {
    let text = "Root mean squared error of the unclipped predictions on 20,168 test ratings"
    let lines = wrapped(text, width: 200, size: 13)
    #expect(lines.count > 1)
    #expect(lines.joined(separator: " ") == text)
    for line in lines { #expect(estimatedTextWidth(line, size: 13) <= 200) }
  }
}
