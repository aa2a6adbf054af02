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
        chip.recordTemporary(tile)
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
}
