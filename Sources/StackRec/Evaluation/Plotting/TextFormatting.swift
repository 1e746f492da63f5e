/// Text helpers shared by the SVG charts and the HTML report page.

/// Escapes `text` for XML or HTML text and quoted attribute values: the
/// five markup characters become entities, and control characters that
/// XML 1.0 forbids become U+FFFD.
///
/// ```
/// escapeXML("MF & kNN <\"best\">")  // MF &amp; kNN &lt;&quot;best&quot;&gt;
/// ```
func escapeXML(_ text: String) -> String {
  var result = ""
  result.reserveCapacity(text.utf8.count)
  for scalar in text.unicodeScalars {
    switch scalar {
    case "&": result += "&amp;"
    case "<": result += "&lt;"
    case ">": result += "&gt;"
    case "\"": result += "&quot;"
    case "'": result += "&apos;"
    case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
    default:
      // XML 1.0 allows no C0 control other than tab, LF and CR, and no U+FFFE or U+FFFF.
      if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
        result += "\u{FFFD}"
      } else {
        result.unicodeScalars.append(scalar)
      }
    }
  }
  return result
}

/// Formats `value` rounded to `decimals` places, with a minus sign only
/// when the rounded value is below zero.
///
/// With `trimZeros`, trailing zeros and a bare point are dropped, so 2.50
/// is written "2.5" and 3.00 is "3". With `grouping`, the integer part gets
/// comma separators ("20,168"). Non-finite values are written "NaN", "inf"
/// or "-inf".
func formatNumber(
  _ value: Double, decimals: Int, trimZeros: Bool = false, grouping: Bool = false
) -> String {
  guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-inf" : "inf") }
  let places = min(max(decimals, 0), 9)
  var unit = 1.0
  for _ in 0..<places { unit *= 10 }
  let scaled = (abs(value) * unit).rounded()
  // Beyond 2^53 a Double has no fraction bits left, and an Int conversion
  // could overflow.
  guard scaled < 9.0e15 else { return String(value) }
  let whole = Int(scaled) / Int(unit)
  let fraction = Int(scaled) % Int(unit)

  var integerText = String(whole)
  if grouping && integerText.count > 3 {
    var grouped = ""
    for (offset, digit) in integerText.enumerated() {
      if offset > 0 && (integerText.count - offset) % 3 == 0 { grouped += "," }
      grouped.append(digit)
    }
    integerText = grouped
  }
  var fractionText = ""
  if places > 0 {
    fractionText = String(fraction)
    fractionText = String(repeating: "0", count: places - fractionText.count) + fractionText
    if trimZeros {
      while fractionText.last == "0" { fractionText.removeLast() }
    }
  }
  let sign = value < 0 && scaled > 0 ? "-" : ""
  return sign + integerText + (fractionText.isEmpty ? "" : "." + fractionText)
}

/// Estimates the width in pixels of `text` at `size` in a sans-serif font,
/// from an average advance of 0.6 em per character. The charts use it only
/// to decide when labels need room or rotation, so an overestimate is safe.
func estimatedTextWidth(_ text: String, size: Double) -> Double {
  Double(text.count) * size * 0.6
}

/// Cuts `text` to at most `maxCharacters` characters, ending in an ellipsis
/// when it was cut.
func abbreviated(_ text: String, maxCharacters: Int) -> String {
  guard text.count > maxCharacters, maxCharacters >= 2 else { return text }
  return String(text.prefix(maxCharacters - 1)) + "\u{2026}"
}

/// Splits `text` at spaces into lines of at most `width` estimated pixels.
/// A word wider than `width` gets a line of its own.
func wrapped(_ text: String, width: Double, size: Double) -> [String] {
  var lines: [String] = []
  var line = ""
  for word in text.split(separator: " ") {
    let candidate = line.isEmpty ? String(word) : line + " " + word
    if !line.isEmpty && estimatedTextWidth(candidate, size: size) > width {
      lines.append(line)
      line = String(word)
    } else {
      line = candidate
    }
  }
  if !line.isEmpty { lines.append(line) }
  return lines
}
