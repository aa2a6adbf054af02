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
                counters.sramToRegisters = try sum(counters.sramToRegisters, tile.bytes, "sram->reg bytes")
                emit("sram_read", edge: "sram->reg", tensor: kernel.slotNames[slot], bytes: tile.bytes, shape: tile.shape)
                return value
            case .tile(let tile) where tile.level == .tensorMemory && slot != tensorMemoryAccumulator:
                // `tcgen05.ld`: a tensor-memory tile read into registers (the softmax reading S).
                counters.tensorMemoryToRegisters = try sum(counters.tensorMemoryToRegisters, tile.bytes, "tmem->reg bytes")
                emit("tmem_read", edge: "tmem->reg", tensor: kernel.slotNames[slot], bytes: tile.bytes, shape: tile.shape)
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
                return try finishElementwise(tile, name: "neg", flops: tile.count, materialize: materialize)
            default:
                throw error("'\(op.rawValue)' does not apply to this value", e.location)
            }
        case .binary(let op, let l, let r):
            if op == .matmul {
                return try matmul(e, l, r)
            }
            let a = try evaluate(l, materialize: false)
            let b = try evaluate(r, materialize: false)
            if case .tile = a {} else if case .tile = b {} else {
                return try scalar(e, op, a, b)
            }
            return try elementwise(e, op.rawValue, a, b, materialize: materialize) { x, y in
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

    /// A binary operation on numbers; an integer overflow is a diagnostic naming `e`.
    private func scalar(_ e: Expr, _ op: BinaryOperator, _ a: Value, _ b: Value) throws(Diagnostic) -> Value {
        let location = e.location
        func toScalar(_ v: Value) -> ScalarValue? {
            switch v {
            case .int(let i): return .int(i)
            case .float(let x): return .float(x)
            default: return nil
            }
        }
        guard let x = toScalar(a), let y = toScalar(b) else { throw error("operands have no value", location) }
        do {
            switch try ScalarEvaluator.applyScalar(op, x, y, at: location, source: source) {
            case .int(let i): return .int(i)
            case .float(let f): return .float(f)
            }
        } catch where error.kind == .overflow {
            throw overflow(e, "\(x) \(op.rawValue) \(y)")
        }
    }

    private func finishElementwise(_ tile: Tile, name: String, flops: Int, materialize: Bool) throws(Diagnostic) -> Value {
        var result = tile
        result.level = .registers
        if name != "cast" { result.elementBytes = 4 }
        counters.flopsOther = try sum(counters.flopsOther, flops, "other FLOPs")
        emit(name, flops: flops, shape: result.shape)
        if materialize { try recordTemporary(result) }
        return .tile(result)
    }

    func recordTemporary(_ tile: Tile) throws(Diagnostic) {
        do throws(CounterOverflow) {
            try chip.recordTemporary(tile)
        } catch {
            throw overflowError(error)
        }
    }

    /// Elementwise binary operation with broadcasting (`Tile.elementwise`), counted as
    /// one "other" FLOP per element of the result.
    private func elementwise(
        _ e: Expr, _ name: String, _ a: Value, _ b: Value, materialize: Bool, _ f: (Float, Float) -> Float
    ) throws(Diagnostic) -> Value {
        let location = e.location
        let opName: String
        switch name {
        case "+": opName = "add"
        case "-": opName = "sub"
        case "*": opName = "mul"
        case "/": opName = "div"
        default: opName = name
        }
        let result = try Tile.elementwise(
            try operand(a, at: location), try operand(b, at: location), kind: TileMath.Binary(rawValue: opName), name: name, source: source,
            at: location, expression: { render(e) }, f)
        return try finishElementwise(result, name: opName, flops: result.count, materialize: materialize)
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

    private func matmul(_ e: Expr, _ l: Expr, _ r: Expr) throws(Diagnostic) -> Value {
        let location = e.location
        guard let a = try matmulOperand(l), let b = try matmulOperand(r),
            a.rank == 2, b.rank == 2
        else {
            throw error("'@' multiplies two 2-D tiles", location)
        }
        guard a.cols == b.rows else {
            throw error("matmul shapes do not agree: \(a.shapeText) @ \(b.shapeText) (inner dimensions \(a.cols) and \(b.rows))", location)
        }
        try Tile.checkSize(rows: a.rows, cols: b.cols, holdsValues: a.data != nil && b.data != nil, source: source, at: location) { render(e) }
        // FLOPs of a matrix product: one multiply and one add per (i, j, k): 2 m n k.
        let m = 2.multipliedReportingOverflow(by: a.rows), mn = m.partialValue.multipliedReportingOverflow(by: b.cols)
        let mnk = mn.partialValue.multipliedReportingOverflow(by: a.cols)
        if m.overflow || mn.overflow || mnk.overflow { throw overflow(e, "its FLOPs 2 x \(a.rows) x \(b.cols) x \(a.cols)") }
        let flops = mnk.partialValue
        var result = Tile.computed(rows: a.rows, cols: b.cols, rank: 2)
        if let x = a.data, let y = b.data {
            result.data = TileMath.matmul(x, y, m: a.rows, k: a.cols, n: b.cols)
        }
        counters.flopsMatmul = try sum(counters.flopsMatmul, flops, "matmul FLOPs")
        try checkPairMMARows(a.rows, at: location)
        counters.peakMatmulRows = max(counters.peakMatmulRows, a.rows)
        emit("matmul", flops: flops, shape: result.shape)
        try recordTemporary(result)
        return .tile(result)
    }

    /// `total + value` of a counter, or the diagnostic that `counter` passed 2^63 - 1.
    func sum(_ total: Int, _ value: Int, _ counter: @autoclosure () -> String) throws(Diagnostic) -> Int {
        let (result, overflow) = total.addingReportingOverflow(value)
        if overflow { throw overflowError(CounterOverflow(counter: counter())) }
        return result
    }

    /// The overflow diagnostic of `e`: "integer overflow in 'e': detail does not fit in 64
    /// bits".
    func overflow(_ e: Expr, _ detail: String) -> Diagnostic {
        error("integer overflow in '\(render(e))': \(detail) does not fit in 64 bits", e.location, kind: .overflow)
    }

    /// An expression as written, with the program's parameter and slot names.
    func render(_ e: Expr) -> String {
        ScalarEvaluator.render(e, names: bound.program.parameters.map(\.name), parameters: bound.parameterValues, slots: kernel.slotNames)
    }
}
