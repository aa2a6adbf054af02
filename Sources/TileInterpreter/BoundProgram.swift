import AttnHardware
import AttnNumerics
import Foundation
import TileLanguage

/// Why a program could not be bound to a run.
public enum BindingError: AdvisedError, Sendable, Equatable {
    /// A problem inside the program, at a source location.
    case program(Diagnostic)
    /// A parameter override names no declared parameter, or has the wrong type.
    case parameter(String)
    /// A parameter override names a built-in parameter (set by the run, not overridden).
    case builtInParameter(String)

    public var description: String {
        switch self {
        case .program(let d): return d.description
        case .parameter(let message): return message
        case .builtInParameter: return advice.description
        }
    }

    public var advice: Advice {
        switch self {
        case .builtInParameter(let name): return "'\(name)' is a built-in parameter, set by the run's shape, dtype and hardware, not by \(Remedy.parameter)"
        case .program, .parameter: return Advice(description)
        }
    }
}

/// A checked program with every parameter, tensor shape and grid extent evaluated.
public struct BoundProgram: Sendable {
    public let program: Program
    public let shape: ProblemShape
    public let dtype: DType
    public let hardware: HardwareProfile
    /// Values of `program.parameters`, by index.
    public let parameterValues: [ScalarValue]
    public let tensorShapes: [[Int]]
    public let tensorDTypes: [DType]
    /// Grid extents of each kernel, by kernel index.
    public let gridExtents: [[Int]]
    /// Threads per block of each kernel, by kernel index.
    public let kernelThreads: [Int]
    /// Software-pipelining stages of each kernel (`stages(n)`), by kernel index.
    public let kernelStages: [Int]
    /// CTAs each kernel's thread block spans (`cluster(n)`: 1, or 2 for Blackwell's CTA
    /// pair, `tcgen05.mma.cta_group::2`). A pair's `kernelThreads` are both CTAs' threads
    /// and its capacities both SMs' (`HardwareProfile.ctaPairView`).
    public let kernelClusters: [Int]
    /// CTAs of each kernel's thread-block cluster along its `cluster(c: n)` axis (1 without
    /// one): the CTAs that share each of its multicast loads (`load ... multicast(c)`),
    /// whose SM->L2 bytes are counted once per cluster (`Counters.l2RequestedBytes`).
    public let kernelMulticastCTAs: [Int]

    /// Binds `program` to a run. `overrides` set declared parameters by name.
    public init(
        program: Program, shape: ProblemShape, dtype: DType, hardware: HardwareProfile,
        overrides: [String: ScalarValue] = [:]
    ) throws(BindingError) {
        self.program = program
        self.shape = shape
        self.dtype = dtype
        self.hardware = hardware
        let source = program.source

        for name in overrides.keys.sorted() {
            guard let index = program.parameterIndex(name) else {
                let declared = program.declaredParameters.map(\.name)
                throw .parameter("unknown parameter '\(name)' for \(source.name); "
                    + (declared.isEmpty ? "it declares no parameters" : "declared parameters: \(declared.joined(separator: ", "))"))
            }
            if program.parameters[index].isBuiltIn {
                throw .builtInParameter(name)
            }
        }

        let names = program.parameters.map(\.name)
        var values: [ScalarValue] = []
        for parameter in BuiltinParameter.allCases {
            switch parameter {
            case .batch: values.append(.int(shape.batch))
            case .heads: values.append(.int(shape.heads))
            case .kvHeads: values.append(.int(shape.kvHeads))
            case .N: values.append(.int(shape.queryLength))
            case .Nkv: values.append(.int(shape.keyLength))
            case .d: values.append(.int(shape.headDim))
            case .scale: values.append(.float(shape.effectiveScale))
            case .sramBytes: values.append(.int(hardware.sramBytesPerBlock))
            case .elemBytes: values.append(.int(dtype.bytes))
            case .smCount: values.append(.int(hardware.smCount))
            }
        }
        for parameter in program.parameters.dropFirst(values.count) {
            let defaultValue: ScalarValue
            do {
                defaultValue = try ScalarEvaluator.evaluate(parameter.defaultValue, parameters: values, source: source, names: names)
            } catch {
                throw .program(error)
            }
            if let override = overrides[parameter.name] {
                switch (defaultValue, override) {
                case (.int, .float(let x)):
                    throw .parameter("parameter '\(parameter.name)' is an integer; \(x) is not")
                case (.float, .int(let i)):
                    values.append(.float(Double(i)))
                default:
                    values.append(override)
                }
            } else {
                values.append(defaultValue)
            }
        }
        self.parameterValues = values

        func evaluateInt(_ e: Expr, _ what: String) throws(BindingError) -> Int {
            let value: ScalarValue
            do {
                value = try ScalarEvaluator.evaluate(e, parameters: values, source: source, names: names)
            } catch {
                throw .program(error)
            }
            guard case .int(let i) = value else {
                throw .program(Diagnostic(.bounds, source, e.location, "\(what) must be an integer"))
            }
            return i
        }

        for requirement in program.requirements {
            if try evaluateInt(requirement.condition, "a requirement") == 0 {
                let detail = requirement.message ?? "requirement not met"
                let bound = program.parameters.enumerated()
                    .filter { !$0.element.isBuiltIn || ["N", "Nkv", "d", "heads", "kv_heads", "batch"].contains($0.element.name) }
                    .map { "\($0.element.name)=\(values[$0.offset])" }.joined(separator: " ")
                throw .program(Diagnostic(.bounds, source, requirement.location, detail, notes: ["with \(bound)"]))
            }
        }

        var shapes: [[Int]] = []
        for tensor in program.tensors {
            var dims: [Int] = []
            for extent in tensor.shape {
                let value = try evaluateInt(extent, "a dimension")
                guard value > 0 else {
                    throw .program(Diagnostic(.bounds, source, extent.location, "dimension of '\(tensor.name)' evaluates to \(value); it must be positive"))
                }
                dims.append(value)
            }
            // Element and byte counts are products of the dimensions: they must fit too.
            let elements = dims.reduce((partialValue: 1, overflow: false)) { r, n in
                let p = r.partialValue.multipliedReportingOverflow(by: n)
                return (p.partialValue, r.overflow || p.overflow)
            }
            if elements.overflow || elements.partialValue.multipliedReportingOverflow(by: 8).overflow {
                throw .program(Diagnostic(.overflow, source, tensor.location, "tensor '\(tensor.name)' \(dims) has more elements than 64-bit byte counts can hold"))
            }
            shapes.append(dims)
        }
        self.tensorShapes = shapes
        // i32 tensors are held as exact integers in fp32 storage: 4 bytes an element.
        self.tensorDTypes = program.tensors.map { $0.isInteger ? .fp32 : ($0.dtype ?? dtype) }

        var extents: [[Int]] = []
        for kernel in program.kernels {
            var axes: [Int] = []
            for axis in kernel.axes {
                let value = try evaluateInt(axis.extent, "a grid extent")
                // An empty grid launches no thread block (a kernel a configuration skips).
                guard value >= 0 else {
                    throw .program(Diagnostic(.bounds, source, axis.extent.location, "grid axis '\(axis.name)' of kernel '\(kernel.name)' has extent \(value); it must not be negative"))
                }
                axes.append(value)
            }
            if axes.reduce((partialValue: 1, overflow: false), { r, n in
                let p = r.partialValue.multipliedReportingOverflow(by: n)
                return (p.partialValue, r.overflow || p.overflow)
            }).overflow {
                throw .program(Diagnostic(.overflow, source, kernel.location, "kernel '\(kernel.name)' has a grid of \(axes) thread blocks: more than 64-bit counts can hold"))
            }
            extents.append(axes)
        }
        self.gridExtents = extents
        var threads: [Int] = []
        var stages: [Int] = []
        var clusters: [Int] = []
        var multicastCTAs: [Int] = []
        for (kernelIndex, kernel) in program.kernels.enumerated() {
            if let axis = kernel.clusterAxis {
                let ctas = try evaluateInt(axis.extent, "a cluster's CTA count")
                if let failure = Self.clusterFailure(ctas, of: kernel, extents: extents[kernelIndex], hardware: hardware, source: source) {
                    throw .program(failure)
                }
                multicastCTAs.append(ctas)
            } else {
                multicastCTAs.append(1)
            }
            // cluster(n): 1, or Blackwell's CTA pair (tcgen05.mma.cta_group::2), which needs
            // the CTA-wide MMA (mma(async)) and a GPU whose profile has the pair.
            var cluster = 1
            if let expression = kernel.cluster {
                cluster = try evaluateInt(expression, "a cluster's CTA count")
                guard cluster == 1 || cluster == 2 else {
                    throw .program(Diagnostic(.bounds, source, expression.location, "kernel '\(kernel.name)' has cluster(\(cluster)); expected 1 or 2 (a CTA pair, tcgen05.mma.cta_group::2)"))
                }
                if cluster == 2 && kernel.mma != .async {
                    throw .program(Diagnostic(.bounds, source, expression.location, "kernel '\(kernel.name)' runs as a CTA pair (cluster(2)) without mma(async); the pair is the CTA-wide tcgen05.mma's (cta_group::2)"))
                }
                if cluster > hardware.mmaCTAGroupSize {
                    throw .program(Diagnostic(.bounds, source, expression.location, "kernel '\(kernel.name)' runs as a CTA pair (cluster(2)), which \(hardware.id) cannot (its mma_cta_group_size is \(hardware.mmaCTAGroupSize))", notes: ["the CTA pair is Blackwell's tcgen05.mma.cta_group::2 (b200, b300, gb200)"]))
                }
            }
            clusters.append(cluster)
            // Threads of one CTA; a pair's block holds both CTAs' threads.
            if let expression = kernel.warps {
                let value = try evaluateInt(expression, "a warp count")
                guard value >= 1 && value <= 32 else {
                    throw .program(Diagnostic(.bounds, source, expression.location, "kernel '\(kernel.name)' has \(value) warps per block; expected 1 to 32"))
                }
                threads.append(32 * value * cluster)
            } else if let expression = kernel.threads {
                let value = try evaluateInt(expression, "a thread count")
                guard value >= 32 && value <= 1024 && value % 32 == 0 else {
                    throw .program(Diagnostic(.bounds, source, expression.location, "kernel '\(kernel.name)' has \(value) threads per block; expected a multiple of 32 from 32 to 1024"))
                }
                threads.append(value * cluster)
            } else {
                threads.append(KernelDecl.defaultThreads * cluster)
            }
            if let expression = kernel.stages {
                let value = try evaluateInt(expression, "a stage count")
                guard value >= 1 && value <= 8 else {
                    throw .program(Diagnostic(.bounds, source, expression.location, "kernel '\(kernel.name)' has \(value) pipelining stages; expected 1 to 8"))
                }
                stages.append(value)
            } else {
                stages.append(KernelDecl.defaultStages)
            }
        }
        self.kernelStages = stages
        self.kernelClusters = clusters
        self.kernelMulticastCTAs = multicastCTAs
        self.kernelThreads = threads
    }

    /// The value of a parameter by name.
    public func parameter(_ name: String) -> ScalarValue? {
        program.parameterIndex(name).map { parameterValues[$0] }
    }

    /// Declared parameters with their bound values, in source order.
    public var declaredParameterValues: [(name: String, value: ScalarValue)] {
        program.parameters.enumerated().filter { !$0.element.isBuiltIn }.map { ($0.element.name, parameterValues[$0.offset]) }
    }
}

/// Evaluates scalar expressions over bound parameters (no kernel locals).
///
/// Integer arithmetic is checked: a result that does not fit in 64 bits (a sum, product,
/// negation of Int.min, Int.min / -1) is a `.overflow` diagnostic naming the expression
/// and its operands, never a trap.
enum ScalarEvaluator {
    /// `names`: parameter names by index, to name expressions in diagnostics (empty:
    /// parameters are shown by value).
    static func evaluate(_ e: Expr, parameters: [ScalarValue], source: SourceFile, names: [String] = []) throws(Diagnostic) -> ScalarValue {
        switch e.kind {
        case .integer(let i): return .int(i)
        case .float(let x): return .float(x)
        case .parameter(let index): return parameters[index]
        case .unary(.negate, let operand):
            switch try evaluate(operand, parameters: parameters, source: source, names: names) {
            case .int(let i):
                guard i != Int.min else {
                    throw overflow(e, parameters: parameters, names: names, source: source, detail: "-(\(i))")
                }
                return .int(-i)
            case .float(let x): return .float(-x)
            }
        case .unary(.not, let operand):
            guard case .int(let i) = try evaluate(operand, parameters: parameters, source: source, names: names) else {
                throw Diagnostic(.bounds, source, e.location, "'not' takes an integer")
            }
            return .int(i == 0 ? 1 : 0)
        case .binary(let op, let l, let r):
            let a = try evaluate(l, parameters: parameters, source: source, names: names)
            let b = try evaluate(r, parameters: parameters, source: source, names: names)
            do {
                return try applyScalar(op, a, b, at: e.location, source: source)
            } catch where error.kind == .overflow {
                throw overflow(e, parameters: parameters, names: names, source: source, detail: "\(a) \(op.rawValue) \(b)")
            }
        case .call(let builtin, let arguments):
            var values: [ScalarValue] = []
            for argument in arguments { values.append(try evaluate(argument, parameters: parameters, source: source, names: names)) }
            do {
                return try applyScalarCall(builtin, values, at: e.location, source: source)
            } catch where error.kind == .overflow {
                throw overflow(e, parameters: parameters, names: names, source: source,
                               detail: "\(builtin.name)(\(values.map(\.description).joined(separator: ", ")))")
            }
        default:
            throw Diagnostic(.bounds, source, e.location, "not a constant expression of the parameters")
        }
    }

    /// The overflow diagnostic for `e`: its text and the operation that overflowed.
    private static func overflow(_ e: Expr, parameters: [ScalarValue], names: [String], source: SourceFile, detail: String) -> Diagnostic {
        Diagnostic(.overflow, source, e.location, "integer overflow in '\(render(e, names: names, parameters: parameters))': \(detail) does not fit in 64 bits")
    }

    /// The source form of an expression, fully parenthesized below the top level; `slots`
    /// names a kernel's locals.
    static func render(_ e: Expr, names: [String], parameters: [ScalarValue], slots: [String] = [], nested: Bool = false) -> String {
        func inner(_ e: Expr, nested: Bool = true) -> String { render(e, names: names, parameters: parameters, slots: slots, nested: nested) }
        let text: String
        switch e.kind {
        case .integer(let i): return String(i)
        case .float(let x): return String(x)
        case .name(let name): return name
        case .dtype(let dtype): return dtype.rawValue
        case .parameter(let index):
            return index < names.count ? names[index] : (index < parameters.count ? parameters[index].description : "?")
        case .local(let slot):
            return slot < slots.count ? slots[slot] : "?"
        case .unary(let op, let operand):
            text = (op == .not ? "not " : "-") + inner(operand)
        case .binary(let op, let l, let r):
            text = "\(inner(l)) \(op.rawValue) \(inner(r))"
        case .transpose(let operand):
            return inner(operand) + "^T"
        case .call(let builtin, let arguments):
            return "\(builtin.name)(\(arguments.map { inner($0, nested: false) }.joined(separator: ", ")))"
        case .load(let access, _):
            return "load \(access.tensorName)[...]"
        }
        return nested ? "(\(text))" : text
    }

    static func applyScalar(_ op: BinaryOperator, _ a: ScalarValue, _ b: ScalarValue, at location: SourceLocation, source: SourceFile) throws(Diagnostic) -> ScalarValue {
        if case .int(let x) = a, case .int(let y) = b {
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws(Diagnostic) -> ScalarValue {
                if r.overflow { throw Diagnostic(.overflow, source, location, "integer overflow") }
                return .int(r.partialValue)
            }
            switch op {
            case .add: return try checked(x.addingReportingOverflow(y))
            case .subtract: return try checked(x.subtractingReportingOverflow(y))
            case .multiply: return try checked(x.multipliedReportingOverflow(by: y))
            case .divide:
                if y == 0 { throw Diagnostic(.bounds, source, location, "division by zero") }
                if IntegerArithmetic.overflows(x, dividedBy: y) { throw Diagnostic(.overflow, source, location, "integer overflow") }
                return .int(IntegerArithmetic.floorDivide(x, y))
            case .remainder:
                if y == 0 { throw Diagnostic(.bounds, source, location, "remainder by zero") }
                return .int(IntegerArithmetic.floorRemainder(x, y))
            case .equal: return .int(x == y ? 1 : 0)
            case .notEqual: return .int(x != y ? 1 : 0)
            case .less: return .int(x < y ? 1 : 0)
            case .lessEqual: return .int(x <= y ? 1 : 0)
            case .greater: return .int(x > y ? 1 : 0)
            case .greaterEqual: return .int(x >= y ? 1 : 0)
            case .and: return .int(x != 0 && y != 0 ? 1 : 0)
            case .or: return .int(x != 0 || y != 0 ? 1 : 0)
            case .matmul: throw Diagnostic(.bounds, source, location, "'@' takes tiles")
            }
        }
        let x = a.asDouble, y = b.asDouble
        switch op {
        case .add: return .float(x + y)
        case .subtract: return .float(x - y)
        case .multiply: return .float(x * y)
        case .divide: return .float(x / y)
        default: throw Diagnostic(.bounds, source, location, "'\(op.rawValue)' is not defined on floats")
        }
    }

    /// A built-in call on numbers, by the built-in's meaning (`Builtin.meaning`).
    static func applyScalarCall(_ builtin: Builtin, _ values: [ScalarValue], at location: SourceLocation, source: SourceFile) throws(Diagnostic) -> ScalarValue {
        do throws(BuiltinFailure) {
            switch builtin.meaning {
            case .integer(let function, _):
                var integers: [Int] = []
                for value in values {
                    guard case .int(let i) = value else { throw BuiltinFailure.invalid("'\(builtin.name)' takes integers") }
                    integers.append(i)
                }
                return .int(try function(integers))
            case .scalar(let function), .elementwise(let function, _, _):
                switch try function(values.map { if case .int(let i) = $0 { return .int(i) } else { return .float($0.asDouble) } }) {
                case .int(let i): return .int(i)
                case .float(let x): return .float(x)
                case .tile, .dtype: throw BuiltinFailure.invalid("'\(builtin.name)' gave a value that is not a number")
                }
            case .tile:
                throw BuiltinFailure.invalid("'\(builtin.name)' builds a tile, not a number")
            }
        } catch {
            throw diagnostic(error, builtin, source: source, at: location)
        }
    }

    /// The diagnostic for a built-in's failure at a call: an overflow (which `evaluate`
    /// names with the expression), or the built-in's own message.
    static func diagnostic(_ failure: BuiltinFailure, _ builtin: Builtin, source: SourceFile, at location: SourceLocation) -> Diagnostic {
        switch failure {
        case .overflow: return Diagnostic(.overflow, source, location, "integer overflow")
        case .invalid(let message): return Diagnostic(.bounds, source, location, message)
        }
    }
}
