import Foundation
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

@testable import StackRec

/// One element of a parsed XML document.
struct ParsedElement {
  var name: String
  var attributes: [String: String]
  /// The element's own character data, without that of its children.
  var text: String
  /// The character data of its `<title>` child, if it has one.
  var tooltip: String?
  /// The `class` attribute, or "".
  var className: String { attributes["class"] ?? "" }
  func number(_ attribute: String) -> Double? { attributes[attribute].flatMap(Double.init) }
}

/// A parse failure, with the parser's line and message.
struct XMLParseError: Error, CustomStringConvertible {
  var line: Int
  var message: String
  var description: String { "XML is not well-formed at line \(line): \(message)" }
}

/// Collects the elements of a document in document order.
private final class ElementCollector: NSObject, XMLParserDelegate {
  var elements: [ParsedElement] = []
  private var open: [Int] = []

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
    qualifiedName: String?, attributes: [String: String] = [:]
  ) {
    open.append(elements.count)
    elements.append(ParsedElement(name: name, attributes: attributes, text: "", tooltip: nil))
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    guard let index = open.last else { return }
    elements[index].text += string
  }

  func parser(
    _ parser: XMLParser, didEndElement name: String, namespaceURI: String?,
    qualifiedName: String?
  ) {
    guard let index = open.popLast() else { return }
    if name == "title", let parent = open.last {
      elements[parent].tooltip = elements[index].text
    }
  }
}

/// Parses `text` with Foundation's `XMLParser` and returns its elements.
///
/// - Throws: `XMLParseError` when the text is not well-formed XML.
func parseXML(_ text: String) throws -> [ParsedElement] {
  let parser = XMLParser(data: Data(text.utf8))
  let collector = ElementCollector()
  parser.delegate = collector
  guard parser.parse() else {
    throw XMLParseError(
      line: parser.lineNumber, message: parser.parserError.map { "\($0)" } ?? "unknown error")
  }
  return collector.elements
}

extension Array where Element == ParsedElement {
  /// The elements whose `class` attribute is `className`.
  func withClass(_ className: String) -> [ParsedElement] {
    filter { $0.className == className }
  }

  /// The text of the elements of class `className`.
  func texts(ofClass className: String) -> [String] {
    withClass(className).map(\.text)
  }
}

/// The count at the end of a tooltip such as "ratings, 0.25 to 0.75: 1,234".
func tooltipCount(_ element: ParsedElement) -> Int? {
  guard let tooltip = element.tooltip, let colon = tooltip.lastIndex(of: ":") else { return nil }
  let digits = tooltip[tooltip.index(after: colon)...].filter { $0 != "," && $0 != " " }
  return Int(digits)
}
