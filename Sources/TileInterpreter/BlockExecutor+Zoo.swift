import AttnNumerics
import Foundation
import TileLanguage

/// Evaluation of the attention zoo's built-ins (`rope_cos`, `rope_sin`, `rope`,
/// `alibi_slope`, `alibi`, `softcap`, `elu1`, `dequant`). Each counts by its table entry's rule
/// (`CountRule.perElement`), so what a call adds to the counters is declared once, in
/// `Builtin+Table.swift`.
extension BlockExecutor {
    func zooCall(_ builtin: Builtin, _ arguments: [Expr], at location: SourceLocation, materialize: Bool) throws(Diagnostic) -> Value {
        switch builtin {
        case .ropeCos, .ropeSin:
            let p0 = try integer(arguments[0]), rows = try integer(arguments[1]), half = try integer(arguments[2])
            guard rows > 0, half > 0 else {
                throw error("the tile of '\(builtin.rawValue)' must have positive sizes, found \(rows) x \(half)", location)
            }
            let rotary = try rotaryEmbedding(arguments, at: location)
            var tile = Tile(rows: rows, cols: half, rank: 2, level: .registers, elementBytes: 4, data: nil)
            if isNumeric {
                let frequencies = rotary.frequencies(headDim: 2 * half)
                var data = [Float](repeating: 0, count: rows * half)
                for r in 0..<rows {
                    for c in 0..<half {
                        let value = builtin == .ropeCos
                            ? rotary.cosine(position: p0 + r, frequency: frequencies[c])
                            : rotary.sine(position: p0 + r, frequency: frequencies[c])
                        data[r * half + c] = Float(value)
                    }
                }
                tile.data = data
            }
            return countZoo(builtin, tile, materialize: materialize)
        case .rope:
            guard let x = try evaluate(arguments[0], materialize: true).tile, let c = try evaluate(arguments[1], materialize: true).tile,
                let s = try evaluate(arguments[2], materialize: true).tile
            else { throw error("'rope' rotates a tile with tiles of cosines and sines", location) }
            let half = x.cols / 2
            guard x.cols % 2 == 0, c.rows == x.rows, s.rows == x.rows, c.cols == half, s.cols == half else {
                throw error("'rope' needs an r x 2h tile and r x h cosines and sines; found \(x.shapeText), \(c.shapeText) and \(s.shapeText)", location)
            }
            var result = Tile(rows: x.rows, cols: x.cols, rank: 2, level: .registers, elementBytes: 4, data: nil)
            if let xd = x.data, let cd = c.data, let sd = s.data {
                var data = [Float](repeating: 0, count: x.count)
                for r in 0..<x.rows {
                    let base = r * x.cols, pair = r * half
                    for j in 0..<half {
                        let (a, b) = (xd[base + j], xd[base + j + half])
                        let (cosine, sine) = (cd[pair + j], sd[pair + j])
                        data[base + j] = a * cosine - b * sine
                        data[base + j + half] = b * cosine + a * sine
                    }
                }
                result.data = data
            }
            return countZoo(builtin, result, materialize: materialize)
        case .alibiSlope:
            let h = try integer(arguments[0]), heads = try integer(arguments[1])
            guard let slope = ALiBi.slope(head: h, heads: heads) else {
                throw error("'alibi_slope' needs a head in 0 ..< heads with heads > 0, found head \(h) of \(heads)", location)
            }
            return .float(slope)
        case .alibi:
            guard var tile = try evaluate(arguments[0], materialize: false).tile, tile.rank == 2 else {
                throw error("'alibi' biases a 2-D tile of scores", location)
            }
            let q0 = try integer(arguments[1]), k0 = try integer(arguments[2])
            let slope: Double
            if let slopeTile = try evaluate(arguments[3], materialize: false).tile {
                guard slopeTile.count == 1 else {
                    throw error("the slope of 'alibi' is a number or a one-element tile, found \(slopeTile.shapeText)", arguments[3].location)
                }
                slope = Double(slopeTile.data?.first ?? 0)
            } else {
                slope = try number(arguments[3])
            }
            if var data = tile.data {
                for r in 0..<tile.rows {
                    for c in 0..<tile.cols {
                        data[r * tile.cols + c] += Float(slope * Double(k0 + c - q0 - r))
                    }
                }
                tile.data = data
            }
            tile.level = .registers
            tile.elementBytes = 4
            return countZoo(builtin, tile, materialize: materialize)
        case .softcap:
            guard var tile = try evaluate(arguments[0], materialize: false).tile else { throw error("'softcap' caps a tile", location) }
            let cap = try number(arguments[1])
            guard cap > 0, cap.isFinite else { throw error("the cap of 'softcap' must be positive, found \(cap)", arguments[1].location) }
            let c = Float(cap)
            tile.data = tile.data.map { $0.map { c * Foundation.tanh($0 / c) } }
            tile.level = .registers
            tile.elementBytes = 4
            return countZoo(builtin, tile, materialize: materialize)
        case .elu1:
            guard var tile = try evaluate(arguments[0], materialize: false).tile else { throw error("'elu1' maps a tile", location) }
            tile.data = tile.data.map { $0.map { $0 > 0 ? $0 + 1 : Foundation.exp($0) } }
            tile.level = .registers
            tile.elementBytes = 4
            return countZoo(builtin, tile, materialize: materialize)
        case .dequant:
            return try dequantize(arguments, at: location, materialize: materialize)
        default:
            throw error("'\(builtin.rawValue)' is not a zoo built-in", location)
        }
    }

    /// `dequant(codes, format, scales, zeros)`: the fp32 tile code * scale + zero of a tile
    /// of u8 codes (`KVQuantFormat`); int4 unpacks two codes per byte (low nibble first),
    /// doubling the columns. A scale or zero is a number, a one-element tile, a 1-D tile
    /// (one per row) or a 2-D tile with the rows and `groups` columns, each serving
    /// cols / groups consecutive elements of its row.
    private func dequantize(_ arguments: [Expr], at location: SourceLocation, materialize: Bool) throws(Diagnostic) -> Value {
        guard let codes = try evaluate(arguments[0], materialize: true).tile, codes.rank == 2 else {
            throw error("'dequant' decodes a 2-D tile of codes", location)
        }
        let formatCode = try integer(arguments[1])
        guard let format = KVQuantFormat(rawValue: formatCode) else {
            throw error("the format of 'dequant' is 0 (fp8e4m3), 1 (fp8e5m2), 2 (int8) or 3 (int4), found \(formatCode)", arguments[1].location)
        }
        let cols = codes.cols * format.codesPerByte
        /// A factor's value for element (r, c) of the result.
        func factor(_ index: Int, default value: Float) throws(Diagnostic) -> (Int, Int) -> Float {
            guard index < arguments.count else { return { _, _ in value } }
            let argument = arguments[index]
            guard let tile = try evaluate(argument, materialize: true).tile else {
                let x = Float(try number(argument))
                return { _, _ in x }
            }
            let data = tile.data ?? []
            if tile.count == 1 { return { _, _ in data.first ?? 0 } }
            if tile.rank == 1, tile.rows == codes.rows { return { r, _ in data.isEmpty ? 0 : data[r] } }
            guard tile.rank == 2, tile.rows == codes.rows, tile.cols > 0, cols % tile.cols == 0 else {
                throw error("a scale or zero of 'dequant' is a number, one element, \(codes.rows) rows, or \(codes.rows) rows of groups dividing \(cols) columns; found \(tile.shapeText)", argument.location)
            }
            let groupCols = tile.cols, group = cols / tile.cols
            return { r, c in data.isEmpty ? 0 : data[r * groupCols + c / group] }
        }
        let scale = try factor(2, default: 1), zero = try factor(3, default: 0)
        var result = Tile(rows: codes.rows, cols: cols, rank: 2, level: .registers, elementBytes: 4, data: nil)
        if let data = codes.data {
            var out = [Float](repeating: 0, count: result.count)
            for r in 0..<codes.rows {
                for c in 0..<cols {
                    let byte = Int(data[r * codes.cols + c / format.codesPerByte])
                    let code = format == .int4 ? (c % 2 == 0 ? byte & 15 : byte >> 4) : byte
                    out[r * cols + c] = format.value(code: code, scale: scale(r, c), zero: zero(r, c))
                }
            }
            result.data = out
        }
        return countZoo(.dequant, result, materialize: materialize)
    }

    /// The rotary embedding of a `rope_cos`/`rope_sin` call's last four arguments.
    private func rotaryEmbedding(_ arguments: [Expr], at location: SourceLocation) throws(Diagnostic) -> RotaryEmbedding {
        let base = try number(arguments[3]), scaling = try integer(arguments[4])
        let factor = try number(arguments[5]), original = try integer(arguments[6])
        switch RotaryEmbedding.make(base: base, scalingCode: scaling, factor: factor, originalContext: original) {
        case .success(let rotary): return rotary
        case .failure(let failure): throw error(failure.description, location)
        }
    }

    /// An integer or float argument as a Double.
    private func number(_ e: Expr) throws(Diagnostic) -> Double {
        switch try evaluate(e, materialize: false) {
        case .int(let i): return Double(i)
        case .float(let x): return x
        default: throw error("expected a number", e.location)
        }
    }

    /// Counts `tile`, the result of `builtin`, by the built-in's `perElement` rule.
    private func countZoo(_ builtin: Builtin, _ tile: Tile, materialize: Bool) -> Value {
        var perElement = 0
        if case .perElement(let other, let special) = builtin.spec.counting {
            counters.flopsOther += other * tile.count
            counters.exps += special * tile.count
            perElement = other + special
        }
        emit(builtin.rawValue, flops: perElement * tile.count, shape: tile.shape)
        if materialize { recordTemporary(tile) }
        return .tile(tile)
    }
}
