import TileLanguage

/// Built-in calls: the executor evaluates arguments in its memory model and runs the
/// built-in's meaning (`Builtin.meaning`); a call that makes a tile counts by the
/// built-in's rule (`CountRule`) and nothing else, and is traced under its name.
extension BlockExecutor: BuiltinArgumentEvaluator {
    var computesValues: Bool { isNumeric }

    func evaluateArgument(_ e: Expr, materialized: Bool) throws(Diagnostic) -> BuiltinValue {
        try operand(evaluate(e, materialize: materialized), at: e.location)
    }

    func call(_ builtin: Builtin, _ arguments: [Expr], at location: SourceLocation, materialize: Bool) throws(Diagnostic) -> Value {
        let call = BuiltinCall(builtin: builtin, arguments: arguments, location: location, evaluator: self)
        let output: TileOutput
        switch builtin.meaning {
        case .integer(let function, _):
            var values: [Int] = []
            values.reserveCapacity(arguments.count)
            for index in arguments.indices { values.append(try call.integer(index)) }
            do throws(BuiltinFailure) {
                return .int(try function(values))
            } catch .overflow {
                throw self.error(
                    "integer overflow in '\(call.text)': \(builtin.name)(\(values.map(String.init).joined(separator: ", "))) does not fit in 64 bits",
                    location, kind: .overflow)
            } catch {
                throw ScalarEvaluator.diagnostic(error, builtin, source: source, at: location)
            }
        case .scalar(let function):
            return try scalar(function, call)
        case .elementwise(let scalarFunction, let tileFunction, _):
            var values: [BuiltinValue] = []
            values.reserveCapacity(arguments.count)
            for index in arguments.indices { values.append(try call.value(index)) }
            guard values.contains(where: { $0.tile != nil }) else { return try scalar(scalarFunction, call, values) }
            output = try tileFunction(values, call)
        case .tile(let function):
            output = try function(call)
        }
        let flops: Int
        do {
            flops = try counters.count(builtin.spec.counting, output)
        } catch {
            throw overflowError(error)
        }
        emit(builtin.name, flops: flops, shape: output.tile.shape)
        if materialize || builtin.spec.materializesResult { try recordTemporary(output.tile) }
        return .tile(output.tile)
    }

    /// A number from numbers: the arguments (evaluated here unless given) through the
    /// built-in's scalar meaning.
    private func scalar(_ function: ScalarFunction, _ call: BuiltinCall, _ given: [BuiltinValue]? = nil) throws(Diagnostic) -> Value {
        var values = given ?? []
        if given == nil {
            for index in call.arguments.indices { values.append(try call.value(index)) }
        }
        let result: BuiltinValue
        do throws(BuiltinFailure) {
            result = try function(values)
        } catch {
            throw ScalarEvaluator.diagnostic(error, call.builtin, source: source, at: call.location)
        }
        switch result {
        case .int(let i): return .int(i)
        case .float(let x): return .float(x)
        case .tile, .dtype: throw self.error("'\(call.builtin.name)' gave a value that is not a number", call.location, kind: .internal)
        }
    }
}
