import Foundation

/// What a report page drew, read back from its serialized DOM: the body's status, each
/// chart (figure) with its marks, axis titles, legend entries and table rows. The page's
/// script writes what each mark shows into data-* attributes (report.js), so this reads
/// numbers, not pixels.
struct ReportDOM {
    /// One start tag: its name, attributes (entities decoded) and offset in the text.
    struct Tag {
        var name: String
        var attributes: [String: String]
        var offset: Int
        /// The text up to the next tag (entities decoded).
        var text: String
    }

    struct Mark: Hashable {
        var series: String
        var x: String
        var y: Double
    }

    struct Chart {
        var id: String
        var type: String
        /// `data-marks`: how many marks the script says it drew.
        var declaredMarks: Int
        var marks: [Mark]
        /// `data-slope` per series (xy charts with a fit).
        var slopes: [String: Double]
        var axisTitles: [String: String]
        var legend: [String]
        /// Column titles, then per row its series and cells' `data-value`s.
        var columns: [String]
        var rows: [(series: String, values: [String])]
    }

    var body: [String: String]
    var charts: [Chart]

    init(html: String) {
        let tags = Self.tags(html)
        body = tags.first { $0.name == "body" }?.attributes ?? [:]
        var charts: [Chart] = []
        var current: Chart?
        var inTable = false
        var row: (series: String, values: [String])?
        func closeRow() {
            if let r = row { current?.rows.append(r) }
            row = nil
        }
        for tag in tags {
            switch tag.name {
            case "figure" where tag.attributes["class"] == "chart":
                closeRow()
                if let c = current { charts.append(c) }
                current = Chart(
                    id: tag.attributes["data-chart"] ?? "", type: tag.attributes["data-type"] ?? "", declaredMarks: Int(tag.attributes["data-marks"] ?? "") ?? -1,
                    marks: [], slopes: [:], axisTitles: [:], legend: [], columns: [], rows: [])
                inTable = false
            case "table":
                inTable = true
            case "th" where inTable:
                current?.columns.append(tag.attributes["data-column"] ?? tag.text)
            case "tr" where inTable:
                closeRow()
                if let series = tag.attributes["data-series"] { row = (series, []) }
            case "td" where inTable:
                row?.values.append(tag.attributes["data-value"] ?? "")
            case "button" where tag.attributes["data-series"] != nil && !inTable:
                current?.legend.append(tag.attributes["data-series"] ?? "")
            case "text" where tag.attributes["class"] == "axis-title":
                current?.axisTitles[tag.attributes["data-axis"] ?? ""] = tag.text
            case "g" where tag.attributes["data-slope"] != nil:
                if let series = tag.attributes["data-series"], let slope = Double(tag.attributes["data-slope"] ?? "") { current?.slopes[series] = slope }
            default:
                if tag.attributes["class"] == "mark", let series = tag.attributes["data-series"], let x = tag.attributes["data-x"],
                    let y = Double(tag.attributes["data-y"] ?? "")
                {
                    current?.marks.append(Mark(series: series, x: x, y: y))
                }
            }
        }
        closeRow()
        if let c = current { charts.append(c) }
        self.charts = charts
    }

    func chart(_ id: String) -> Chart? { charts.first { $0.id == id } }

    /// Every start tag of `html` with its attributes, in order.
    static func tags(_ html: String) -> [Tag] {
        let bytes = Array(html.utf8)
        var tags: [Tag] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "<"), i + 1 < bytes.count, isLetter(bytes[i + 1]) else {
                i += 1
                continue
            }
            var j = i + 1
            while j < bytes.count, isLetter(bytes[j]) || isDigit(bytes[j]) { j += 1 }
            let name = String(decoding: bytes[(i + 1)..<j], as: UTF8.self).lowercased()
            var attributes: [String: String] = [:]
            // Attributes: name="value" (the serializer always quotes with "), or bare names.
            while j < bytes.count, bytes[j] != UInt8(ascii: ">") {
                if isSpace(bytes[j]) || bytes[j] == UInt8(ascii: "/") {
                    j += 1
                    continue
                }
                let start = j
                while j < bytes.count, !isSpace(bytes[j]), bytes[j] != UInt8(ascii: "="), bytes[j] != UInt8(ascii: ">") { j += 1 }
                let key = String(decoding: bytes[start..<j], as: UTF8.self)
                var value = ""
                if j < bytes.count, bytes[j] == UInt8(ascii: "=") {
                    j += 1
                    if j < bytes.count, bytes[j] == UInt8(ascii: "\"") {
                        let valueStart = j + 1
                        j = valueStart
                        while j < bytes.count, bytes[j] != UInt8(ascii: "\"") { j += 1 }
                        value = decodeEntities(String(decoding: bytes[valueStart..<min(j, bytes.count)], as: UTF8.self))
                        j += 1
                    }
                }
                attributes[key] = value
            }
            let textStart = j + 1
            var k = textStart
            while k < bytes.count, bytes[k] != UInt8(ascii: "<") { k += 1 }
            let text = textStart < k ? decodeEntities(String(decoding: bytes[textStart..<k], as: UTF8.self)) : ""
            tags.append(Tag(name: name, attributes: attributes, offset: i, text: text))
            i = j + 1
            // A script's or style sheet's text is not markup: skip to its end tag.
            if name == "script" || name == "style", let end = find(Array("</\(name)".utf8), in: bytes, from: i) { i = end }
        }
        return tags
    }

    /// The offset of the first occurrence of `needle` in `bytes` at or after `start`.
    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// The entities an HTML serializer writes: &amp; &lt; &gt; &quot; &nbsp; and numeric ones.
    static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            guard let semicolon = rest.firstIndex(of: ";"), rest.distance(from: rest.startIndex, to: semicolon) <= 10 else {
                out += "&"
                rest = rest.dropFirst()
                continue
            }
            let name = rest[rest.index(after: rest.startIndex)..<semicolon]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "nbsp": "\u{00A0}", "apos": "'"]
            if let replacement = named[String(name)] {
                out += replacement
            } else if name.hasPrefix("#x"), let code = UInt32(name.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) {
                out.unicodeScalars.append(scalar)
            } else if name.hasPrefix("#"), let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "&" + name + ";"
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    private static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 12 }
}
