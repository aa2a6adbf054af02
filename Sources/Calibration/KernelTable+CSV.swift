import CostModel

extension KernelTable {
    /// The columns of a kernel-table file, in order.
    public static let fileColumns = ["implementation", "algorithm", "backward", "program", "launch", "parameters"]

    /// Reads a kernel-table file: a header `implementation,algorithm,backward,program,launch,parameters`
    /// and one entry per line, e.g.
    ///
    ///     my-decode,flash-decoding,0,kernels/my-decode.tile,direct,Bc=block_n S=splits|1 num_warps=4
    ///
    /// `algorithm` and `backward` may be empty (any), `implementation` may be `*`; `launch`
    /// is `framework` or `direct`; `parameters` lists `NAME=SOURCE` separated by spaces,
    /// SOURCE being an integer or columns of the row tried in order (`page_size|block_n`),
    /// optionally ending in an integer used when they are all empty (`splits|0`). A
    /// relative .tile path is taken from `directory` (the file's folder). Every problem is
    /// an error naming the file, line and column.
    public static func parse(_ text: String, file: String, directory: String? = nil) throws(CalibrationError) -> KernelTable {
        let lines = CSVText.lines(text)
        guard let header = lines.first else { throw CalibrationError(file: file, message: "empty file; expected the header \(fileColumns.joined(separator: ","))") }
        let columns = CSVText.cells(header.text)
        guard columns == fileColumns else {
            throw CalibrationError(file: file, line: header.number, message: "expected the header \(fileColumns.joined(separator: ",")), found '\(header.text)'")
        }
        guard lines.count > 1 else { throw CalibrationError(file: file, line: header.number, message: "the header has no entries after it") }
        var entries: [Entry] = []
        for (line, text) in lines.dropFirst() {
            let cells = CSVText.cells(text)
            guard cells.count == fileColumns.count else {
                throw CalibrationError(file: file, line: line, message: "\(cells.count) cells; the header has \(fileColumns.count) columns")
            }
            func failure(_ position: Int, _ message: String) -> CalibrationError {
                CalibrationError(file: file, line: line, column: fileColumns[position], columnNumber: position + 1, message: message)
            }
            guard !cells[0].isEmpty else { throw failure(0, "missing value (an implementation, or * for any)") }
            var backward: Bool?
            switch cells[2] {
            case "": backward = nil
            case "0": backward = false
            case "1": backward = true
            default: throw failure(2, "expected 0, 1 or an empty cell, found '\(cells[2])'")
            }
            guard !cells[3].isEmpty else { throw failure(3, "missing value (a built-in program or a .tile path)") }
            var program = cells[3]
            if program.hasSuffix(".tile"), !program.hasPrefix("/"), let directory, !directory.isEmpty { program = directory + "/" + program }
            guard let launch = LaunchPath(rawValue: cells[4]) else {
                throw failure(4, "expected \(LaunchPath.allCases.map(\.rawValue).joined(separator: " or ")), found '\(cells[4])'")
            }
            var parameters: [(name: String, source: Source)] = []
            for item in cells[5].split(separator: " ") {
                let parts = item.split(separator: "=", omittingEmptySubsequences: false)
                guard parts.count == 2, let name = parts.first, !name.isEmpty, let source = parts.last, !source.isEmpty else {
                    throw failure(5, "expected NAME=SOURCE, found '\(item)'")
                }
                guard !parameters.contains(where: { $0.name == name }) else { throw failure(5, "parameter '\(name)' is given twice") }
                if let value = Int(source) {
                    parameters.append((String(name), .value(value)))
                    continue
                }
                var names = source.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                var fallback: Int?
                if let last = names.last, let value = Int(last) {
                    fallback = value
                    names.removeLast()
                }
                for column in names where !parameterColumns.contains(column) {
                    throw failure(5, "'\(column)' is not a column a parameter can come from; expected \(parameterColumns.joined(separator: ", ")) or an integer")
                }
                guard !names.isEmpty else { throw failure(5, "expected NAME=SOURCE, found '\(item)'") }
                parameters.append((String(name), .columns(names, fallback: fallback)))
            }
            entries.append(Entry(
                implementation: cells[0], algorithm: cells[1].isEmpty ? nil : cells[1], backward: backward, program: program, launch: launch,
                parameters: parameters))
        }
        return KernelTable(entries: entries)
    }
}
