import AttnNumerics
import Foundation
import TileLanguage

extension BlockExecutor {
    /// Evaluates an integer expression (indices, bounds, conditions).
    func integer(_ e: Expr) throws(Diagnostic) -> Int {
        guard case .int(let i) = try evaluate(e, materialize: false) else {
            throw error("expected an integer", e.location)
        }
        return i
    }

    /// Evaluates an expression. `materialize` says the consumer needs the result in a
    /// buffer of its own (operands of matmuls and reductions); fused elementwise results
    /// do not.
    func evaluate(_ e: Expr, materialize: Bool) throws(Diagnostic) -> Value {
        switch e.kind {
        case .integer(let i): return .int(i)
        case .float(let x): return .float(x)
        case .dtype: throw error("a dtype is not a value", e.location)
        case .name(let name): throw error("unresolved name '\(name)'", e.location)
        case .parameter(let index):
            switch bound.parameterValues[index] {
            case .int(let i): return .int(i)
            case .float(let x): return .float(x)
            }
        case .local(let slot):
            let value = env[slot]
            switch value {
            case .unset:
                throw error("'\(kernel.slotNames[slot])' has no value here (assigned on another path, or used after its last use in an earlier iteration)", e.location)
            case .tile(let tile) where tile.level == .sram:
                counters.sramToRegisters += tile.bytes
                emit("sram_read", edge: "sram->reg", tensor: kernel.slotNames[slot], bytes: tile.bytes, shape: tile.shape)
                return value
            default:
                return value
            }
        case .load:
            throw error("'load' must be the whole right-hand side of an assignment", e.location)
        case .transpose(let operand):
            guard var tile = try evaluate(operand, materialize: materialize).tile, tile.rank == 2 else {
                throw error("'^T' transposes a 2-D tile", e.location)
            }
            if let data = tile.data { tile.data = TileMath.transpose(data, rows: tile.rows, cols: tile.cols) }
            swap(&tile.rows, &tile.cols)
            return .tile(tile)
        case .unary(let op, let operand):
            let value = try evaluate(operand, materialize: false)
            switch (op, value) {
            case (.negate, .int(let i)):
                let (negated, overflow) = (0).subtractingReportingOverflow(i)
                if overflow { throw error("integer overflow in negation: -(\(i)) does not fit in 64 bits", e.location, kind: .overflow) }
                return .int(negated)
            case (.negate, .float(let x)): return .float(-x)
            case (.not, .int(let i)): return .int(i == 0 ? 1 : 0)
            case (.negate, .tile(var tile)):
                tile.data = tile.data.map { $0.map { -$0 } }
                return finishElementwise(tile, name: "neg", flops: tile.count, materialize: materialize)
            default:
                throw error("'\(op.rawValue)' does not apply to this value", e.location)
            }
        case .binary(let op, let l, let r):
            if op == .matmul {
                return try matmul(l, r, at: e.location)
            }
            let a = try evaluate(l, materialize: false)
            let b = try evaluate(r, materialize: false)
            if case .tile = a {} else if case .tile = b {} else {
                return try scalar(op, a, b, at: e.location)
            }
            return try elementwise(op.rawValue, a, b, at: e.location, materialize: materialize) { x, y in
                switch op {
                case .add: return x + y
                case .subtract: return x - y
                case .multiply: return x * y
                default: return x / y
                }
            }
        case .call(let builtin, let arguments):
            return try call(builtin, arguments, at: e.location, materialize: materialize)
        }
    }

    private func scalar(_ op: BinaryOperator, _ a: Value, _ b: Value, at location: SourceLocation) throws(Diagnostic) -> Value {
        func toScalar(_ v: Value) -> ScalarValue? {
            switch v {
            case .int(let i): return .int(i)
            case .float(let x): return .float(x)
            default: return nil
            }
        }
        guard let x = toScalar(a), let y = toScalar(b) else { throw error("operands have no value", location) }
        switch try ScalarEvaluator.applyScalar(op, x, y, at: location, source: source) {
        case .int(let i): return .int(i)
        case .float(let f): return .float(f)
        }
    }

    private func finishElementwise(_ tile: Tile, name: String, flops: Int, materialize: Bool) -> Value {
        var result = tile
        result.level = .registers
        if name != "cast" { result.elementBytes = 4 }
        counters.flopsOther += flops
        emit(name, flops: flops, shape: result.shape)
        if materialize { recordTemporary(result) }
        return .tile(result)
    }

    func recordTemporary(_ tile: Tile) {
        statementTemporaryBytes += tile.bytes
        statementTemporaryShapes.append((tile.rows, tile.cols))
    }

    /// Elementwise binary operation with broadcasting: a tile with a scalar, or two tiles
    /// under numpy's rules, reading a 1-D tile as a column (one value per row): each of
    /// rows and columns must agree or be 1 on one side. So a row vector r broadcasts
    /// across the columns of an r x c tile, a 1 x c tile down its rows, and an r-vector
    /// against a 1 x c tile gives their r x c outer product.
    private func elementwise(
        _ name: String, _ a: Value, _ b: Value, at location: SourceLocation, materialize: Bool,
        _ f: (Float, Float) -> Float
    ) throws(Diagnostic) -> Value {
        let opName: String
        switch name {
        case "+": opName = "add"
        case "-": opName = "sub"
        case "*": opName = "mul"
        case "/": opName = "div"
        default: opName = name
        }
        // The common operations run loops specialised to them (same values as `f`'s).
        let kind = TileMath.Binary(rawValue: opName)
        switch (a, b) {
        case (.tile(let t), .tile(let u)):
            func combine(_ x: Int, _ y: Int) -> Int? { x == y ? x : x == 1 ? y : y == 1 ? x : nil }
            guard let rows = combine(t.rows, u.rows), let cols = combine(t.cols, u.cols) else {
                throw error("shape mismatch in '\(name)': \(t.shapeText) and \(u.shapeText) (dimensions must agree or be 1; a 1-D tile is a column, one value per row)", location)
            }
            let rank = max(t.rank, u.rank, cols > 1 ? 2 : 1)
            var result = Tile(rows: rows, cols: cols, rank: rank, level: .registers, elementBytes: 4, data: nil)
            if let x = t.data, let y = u.data {
                if let kind {
                    result.data = TileMath.broadcast(kind, x, rows: t.rows, cols: t.cols, y, rows: u.rows, cols: u.cols, outRows: rows, outCols: cols)
                } else {
                    result.data = TileMath.broadcast(x, rows: t.rows, cols: t.cols, y, rows: u.rows, cols: u.cols, outRows: rows, outCols: cols, f)
                }
            }
            return finishElementwise(result, name: opName, flops: result.count, materialize: materialize)
        case (.tile(var t), _):
            let s = Float(scalarValue(b))
            if let kind {
                t.data = t.data.map { TileMath.map(kind, $0, scalar: s, scalarFirst: false) }
            } else {
                t.data = t.data.map { $0.map { f($0, s) } }
            }
            return finishElementwise(t, name: opName, flops: t.count, materialize: materialize)
        case (_, .tile(var u)):
            let s = Float(scalarValue(a))
            if let kind {
                u.data = u.data.map { TileMath.map(kind, $0, scalar: s, scalarFirst: true) }
            } else {
                u.data = u.data.map { $0.map { f(s, $0) } }
            }
            return finishElementwise(u, name: opName, flops: u.count, materialize: materialize)
        default:
            throw error("'\(name)' needs a tile operand here", location)
        }
    }

    private func scalarValue(_ v: Value) -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .float(let x): return x
        default: return .nan
        }
    }

    private func matmul(_ l: Expr, _ r: Expr, at location: SourceLocation) throws(Diagnostic) -> Value {
        guard let a = try evaluate(l, materialize: true).tile, let b = try evaluate(r, materialize: true).tile,
            a.rank == 2, b.rank == 2
        else {
            throw error("'@' multiplies two 2-D tiles", location)
        }
        guard a.cols == b.rows else {
            throw error("matmul shapes do not agree: \(a.shapeText) @ \(b.shapeText) (inner dimensions \(a.cols) and \(b.rows))", location)
        }
        var result = Tile(rows: a.rows, cols: b.cols, rank: 2, level: .registers, elementBytes: 4, data: nil)
        if let x = a.data, let y = b.data {
            result.data = TileMath.matmul(x, y, m: a.rows, k: a.cols, n: b.cols)
        }
        // FLOPs of a matrix product: one multiply and one add per (i, j, k): 2 m n k.
        let flops = 2 * a.rows * b.cols * a.cols
        counters.flopsMatmul += flops
        counters.peakMatmulRows = max(counters.peakMatmulRows, a.rows)
        emit("matmul", flops: flops, shape: result.shape)
        recordTemporary(result)
        return .tile(result)
    }

    private func call(_ builtin: Builtin, _ arguments: [Expr], at location: SourceLocation, materialize: Bool) throws(Diagnostic) -> Value {
        switch builtin {
        case .cdiv, .min, .max, .exp, .log, .sqrt:
            var values: [Value] = []
            for argument in arguments { values.append(try evaluate(argument, materialize: false)) }
            if values.allSatisfy({ $0.tile == nil }) {
                var scalars: [ScalarValue] = []
                for v in values {
                    if case .int(let i) = v { scalars.append(.int(i)) } else { scalars.append(.float(scalarValue(v))) }
                }
                switch try ScalarEvaluator.applyScalarCall(builtin, scalars, at: location, source: source) {
                case .int(let i): return .int(i)
                case .float(let x): return .float(x)
                }
            }
            switch builtin {
            case .min:
                return try elementwise("min", values[0], values[1], at: location, materialize: materialize) { Swift.min($0, $1) }
            case .max:
                return try elementwise("max", values[0], values[1], at: location, materialize: materialize) { Swift.max($0, $1) }
            case .exp, .log, .sqrt:
                guard var tile = values[0].tile else { throw error("'\(builtin.rawValue)' needs a tile", location) }
                switch builtin {
                case .exp: tile.data = tile.data.map(TileMath.exp)
                case .log: tile.data = tile.data.map { TileMath.mapLoop($0) { Foundation.log($0) } }
                default: tile.data = tile.data.map { TileMath.mapLoop($0) { $0.squareRoot() } }
                }
                tile.level = .registers
                tile.elementBytes = 4
                switch builtin {
                case .exp: counters.exps += tile.count
                case .log: counters.logs += tile.count
                default: counters.flopsOther += tile.count
                }
                emit(builtin.rawValue, flops: tile.count, shape: tile.shape)
                if materialize { recordTemporary(tile) }
                return .tile(tile)
            default:
                throw error("'\(builtin.rawValue)' takes integers", location)
            }
        case .rowmax, .rowsum:
            guard let tile = try evaluate(arguments[0], materialize: true).tile, tile.rank == 2 else {
                throw error("'\(builtin.rawValue)' reduces a 2-D tile", location)
            }
            var result = Tile(rows: tile.rows, cols: 1, rank: 1, level: .registers, elementBytes: 4, data: nil)
            if let data = tile.data {
                result.data = TileMath.reduceRows(data, rows: tile.rows, cols: tile.cols, max: builtin == .rowmax)
            }
            // A row of c values reduces with c - 1 pairwise operations.
            let flops = tile.rows * (tile.cols - 1)
            counters.flopsOther += flops
            emit(builtin.rawValue, flops: flops, shape: result.shape)
            recordTemporary(result)
            return .tile(result)
        case .zeros, .full:
            let sizeCount = builtin == .full ? arguments.count - 1 : arguments.count
            var sizes: [Int] = []
            for argument in arguments.prefix(sizeCount) {
                let size = try integer(argument)
                guard size > 0 else { throw error("a tile size must be positive, found \(size)", argument.location) }
                sizes.append(size)
            }
            var fill: Float = 0
            if builtin == .full, let last = arguments.last {
                fill = Float(scalarValue(try evaluate(last, materialize: false)))
            }
            let rows = sizes[0], cols = sizes.count > 1 ? sizes[1] : 1
            let tile = Tile(
                rows: rows, cols: cols, rank: sizes.count, level: .registers, elementBytes: 4,
                data: isNumeric ? Array(repeating: fill, count: rows * cols) : nil)
            emit(builtin.rawValue, shape: tile.shape)
            if materialize { recordTemporary(tile) }
            return .tile(tile)
        case .fa2NumSplits, .blockMask:
            var scalars: [ScalarValue] = []
            for argument in arguments { scalars.append(.int(try integer(argument))) }
            guard case .int(let i) = try ScalarEvaluator.applyScalarCall(builtin, scalars, at: location, source: source) else {
                throw error("'\(builtin.rawValue)' gives an integer", location)
            }
            return .int(i)
        case .col:
            guard let tile = try evaluate(arguments[0], materialize: false).tile, tile.rank == 2 else {
                throw error("'col' takes a column of a 2-D tile", location)
            }
            let j = try integer(arguments[1])
            guard j >= 0 && j < tile.cols else {
                throw error("column \(j) is outside the \(tile.shapeText) tile", arguments[1].location)
            }
            var column = Tile(rows: tile.rows, cols: 1, rank: 1, level: .registers, elementBytes: tile.level == .sram ? tile.elementBytes : 4, data: nil)
            if let data = tile.data { column.data = (0..<tile.rows).map { data[$0 * tile.cols + j] } }
            emit("col", shape: column.shape)
            if materialize { recordTemporary(column) }
            return .tile(column)
        case .maskCausal, .maskWindow:
            guard var tile = try evaluate(arguments[0], materialize: false).tile, tile.rank == 2 else {
                throw error("'\(builtin.rawValue)' masks a 2-D tile", location)
            }
            let q0 = try integer(arguments[1]), k0 = try integer(arguments[2])
            var window: Int?
            if builtin == .maskWindow {
                let w = try integer(arguments[3])
                guard w > 0 else { throw error("the window of 'mask_window' must be positive, found \(w)", arguments[3].location) }
                window = w
            }
            var period = tile.rows
            let periodIndex = builtin == .maskWindow ? 4 : 3
            if arguments.count > periodIndex {
                period = try integer(arguments[periodIndex])
                guard period > 0 else { throw error("the row period of '\(builtin.rawValue)' must be positive, found \(period)", arguments[periodIndex].location) }
            }
            var masked = 0
            for r in 0..<tile.rows {
                let (lo, hi) = MaskGeometry.visibleColumns(row: r % period, cols: tile.cols, queryStart: q0, keyStart: k0, window: window)
                masked += tile.cols - max(0, hi - lo)
                if var data = tile.data {
                    for c in 0..<tile.cols where c < lo || c >= hi { data[r * tile.cols + c] = -.infinity }
                    tile.data = data
                }
            }
            counters.maskedElements += masked
            // One compare-and-select per element.
            return finishElementwise(tile, name: builtin.rawValue, flops: tile.count, materialize: materialize)
        case .ropeCos, .ropeSin, .rope, .alibiSlope, .alibi, .softcap, .elu1, .dequant:
            return try zooCall(builtin, arguments, at: location, materialize: materialize)
        case .cast:
            guard var tile = try evaluate(arguments[0], materialize: false).tile, case .dtype(let dtype) = arguments[1].kind else {
                throw error("'cast' rounds a tile to a dtype", location)
            }
            tile.data = tile.data.map { $0.map { dtype.round($0) } }
            tile.elementBytes = dtype.bytes
            return finishElementwise(tile, name: "cast", flops: 0, materialize: materialize)
        }
    }

    // MARK: Loads and stores

    /// The part of a tensor an access selects: per dimension its start and length, and
    /// which dimensions the tile keeps.
    struct Slice {
        var starts: [Int]
        var lengths: [Int]
        var kept: [Int]
        var count: Int { lengths.reduce(1, *) }
        /// The tile's rows: the product of every kept dimension but the last (the only one
        /// for a 1-D tile).
        var rows: Int { kept.count == 1 ? lengths[kept[0]] : kept.dropLast().reduce(1) { $0 * lengths[$1] } }
        /// The tile's columns: the last kept dimension, 1 for a 1-D tile.
        var cols: Int { kept.count > 1 ? lengths[kept[kept.count - 1]] : 1 }
        var rank: Int { min(kept.count, 2) }
    }

    func slice(_ access: TensorAccess) throws(Diagnostic) -> Slice {
        let name = access.tensorName
        let shape = bound.tensorShapes[access.tensor]
        var slice = Slice(starts: [], lengths: [], kept: [])
        for (axis, index) in access.indices.enumerated() {
            let extent = shape[axis]
            switch index {
            case .scalar(let e):
                let i = try integer(e)
                guard i >= 0 && i < extent else {
                    throw error("index \(i) is out of bounds for dimension \(axis) of '\(name)' (extent \(extent))", e.location)
                }
                slice.starts.append(i)
                slice.lengths.append(1)
            case .block(let b, let size, let location):
                let block = try integer(b), blockSize = try integer(size)
                guard blockSize > 0 else { throw error("block size must be positive, found \(blockSize)", size.location) }
                let start = block * blockSize
                guard start >= 0 && start < extent else {
                    throw error("block \(block) of size \(blockSize) starts at \(start), outside dimension \(axis) of '\(name)' (extent \(extent))", location)
                }
                slice.starts.append(start)
                slice.lengths.append(Swift.min(blockSize, extent - start))
                slice.kept.append(axis)
            case .range(let a, let b, let location):
                let lo = try integer(a), hi = try integer(b)
                guard lo >= 0 && lo < hi && hi <= extent else {
                    throw error("range \(lo) ..< \(hi) is empty or outside dimension \(axis) of '\(name)' (extent \(extent))", location)
                }
                slice.starts.append(lo)
                slice.lengths.append(hi - lo)
                slice.kept.append(axis)
            case .all:
                slice.starts.append(0)
                slice.lengths.append(extent)
                slice.kept.append(axis)
            }
        }
        return slice
    }

    /// Reads one element of an i32 tensor into a register (4 bytes). Count-only mode has
    /// no data and reads 0; the value may only index tensors, so counts do not change.
    func loadInteger(_ access: TensorAccess, at location: SourceLocation) throws(Diagnostic) -> Int {
        let s = try slice(access)
        counters.tensors[access.tensor].hbmToRegisters += 4
        emit("load", edge: "hbm->reg", tensor: access.tensorName, bytes: 4, shape: [])
        guard isNumeric else { return 0 }
        let tensor = tensors[access.tensor]
        var offset = 0
        for axis in s.starts.indices { offset += s.starts[axis] * tensor.strides[axis] }
        return Int(tensor.values[offset])
    }

    /// Reads a tile from HBM into `level`, counting its bytes at the tensor's dtype.
    func load(_ access: TensorAccess, level: TileLevel, at location: SourceLocation) throws(Diagnostic) -> Tile {
        let s = try slice(access)
        let dtype = bound.tensorDTypes[access.tensor]
        var tile = Tile(rows: s.rows, cols: s.cols, rank: s.rank, level: level, elementBytes: dtype.bytes, data: nil)
        if isNumeric {
            tile.data = TileMath.gather(tensors[access.tensor], s)
        }
        countHBM(access, tile, level: level, loading: true)
        return tile
    }

    /// Writes a tile to HBM, rounding to the tensor's dtype.
    func store(_ access: TensorAccess, _ tile: Tile, from level: TileLevel, at location: SourceLocation) throws(Diagnostic) {
        let s = try slice(access)
        // A 1-D tile may fill a slice that keeps several dimensions, in row-major order.
        let flat = tile.rank == 1 && s.kept.count > 1 && tile.count == s.count
        guard flat || (tile.rank == s.rank && tile.rows == s.rows && tile.cols == s.cols) else {
            let sliceText = s.rank == 1 ? "\(s.rows)" : "\(s.rows)x\(s.cols)"
            throw error("the stored tile is \(tile.shapeText) but the slice of '\(access.tensorName)' is \(sliceText)", location)
        }
        let dtype = bound.tensorDTypes[access.tensor]
        if isNumeric, let data = tile.data {
            if pendingStores != nil {
                pendingStores?.append(PendingStore(tensor: access.tensor, slice: s, data: data))
            } else {
                TileMath.scatter(data, into: &tensors[access.tensor], s, dtype: dtype, written: &written[access.tensor])
            }
        }
        countHBM(access, tile, level: level, loading: false)
    }

    /// Counts a tile crossing the HBM edge of `level` (a load into it, or a store from it)
    /// at the tensor's dtype, per tensor, and traces it.
    private func countHBM(_ access: TensorAccess, _ tile: Tile, level: TileLevel, loading: Bool) {
        let bytes = tile.count * bound.tensorDTypes[access.tensor].bytes
        let edge: String
        switch (loading, level) {
        case (true, .sram):
            counters.tensors[access.tensor].hbmToSram += bytes
            edge = "hbm->sram"
        case (true, .registers):
            counters.tensors[access.tensor].hbmToRegisters += bytes
            edge = "hbm->reg"
        case (false, .sram):
            counters.tensors[access.tensor].sramToHbm += bytes
            edge = "sram->hbm"
        case (false, .registers):
            counters.tensors[access.tensor].registersToHbm += bytes
            edge = "reg->hbm"
        }
        emit(loading ? "load" : "store", edge: edge, tensor: access.tensorName, bytes: bytes, shape: tile.shape)
    }
}

/// A numeric store held back by a worker of the parallel replay, applied later in block
/// order (`BlockExecutor.apply`).
struct PendingStore {
    var tensor: Int
    var slice: BlockExecutor.Slice
    var data: [Float]
}

extension BlockExecutor {
    /// Writes held-back stores into HBM in their order, as `store` would have.
    func apply(_ stores: [PendingStore]) {
        for pending in stores {
            TileMath.scatter(pending.data, into: &tensors[pending.tensor], pending.slice, dtype: bound.tensorDTypes[pending.tensor], written: &written[pending.tensor])
        }
    }
}

/// Which columns of a score tile a causal or sliding-window mask leaves visible.
enum MaskGeometry {
    /// Row r holds query position queryStart + r; column c holds key keyStart + c. Keys
    /// after the query are hidden, and with a window w so are keys w or more before it.
    /// Returns the visible columns as a half-open range lo ..< hi (empty when lo >= hi).
    static func visibleColumns(row r: Int, cols: Int, queryStart: Int, keyStart: Int, window: Int?) -> (Int, Int) {
        let position = queryStart + r - keyStart
        let hi = min(cols, position + 1)
        let lo = window.map { max(0, position - $0 + 1) } ?? 0
        return (lo, max(lo, hi))
    }
}
