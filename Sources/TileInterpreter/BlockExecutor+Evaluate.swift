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

    /// Elementwise binary operation with broadcasting (`Tile.elementwise`), counted as
    /// one "other" FLOP per element of the result.
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
        let result = try Tile.elementwise(try operand(a, at: location), try operand(b, at: location), kind: TileMath.Binary(rawValue: opName), name: name, source: source, at: location, f)
        return finishElementwise(result, name: opName, flops: result.count, materialize: materialize)
    }

    /// An operand of an elementwise operation or a built-in as `Tile.elementwise` and
    /// built-ins take it.
    func operand(_ v: Value, at location: SourceLocation) throws(Diagnostic) -> BuiltinValue {
        switch v {
        case .int(let i): return .int(i)
        case .float(let x): return .float(x)
        case .tile(let t): return .tile(t)
        case .unset: throw error("operands have no value", location)
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
