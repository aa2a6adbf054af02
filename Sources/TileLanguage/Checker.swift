/// Static checks of a parsed program: every name resolves, types and tile ranks agree,
/// functions get the arguments they take, and checks name real tensors. Returns the
/// program with names replaced by parameter indices and kernel-local slots.
///
/// What depends on parameter values (shapes, bounds, capacity) is checked when the
/// program is bound and run, with the same file:line:column diagnostics.
public struct Checker {
    private let source: SourceFile
    private var program: Program
    private var parameterTypes: [ValueType] = []

    // Per-kernel state.
    private var slots: [String: Int] = [:]
    private var slotTypes: [ValueType] = []
    private var slotNames: [String] = []
    private var readOnly: Set<Int> = []
    private var loopSlots: Set<Int> = []
    private var activeLoops: Set<Int> = []
    /// The grid axis of the kernel's `cluster(c: n)`, which a load may multicast over.
    private var clusterAxisName: String?

    /// Parses and checks `source`.
    public static func check(_ source: SourceFile) throws(Diagnostic) -> Program {
        try check(Parser.parse(source))
    }

    /// Checks a parsed program.
    public static func check(_ parsed: Program) throws(Diagnostic) -> Program {
        var checker = Checker(program: parsed)
        return try checker.run()
    }

    private init(program: Program) {
        self.source = program.source
        self.program = program
    }

    private func error(_ message: String, _ location: SourceLocation) -> Diagnostic {
        Diagnostic(.type, source, location, message)
    }

    private mutating func run() throws(Diagnostic) -> Program {
        // Built-in parameters come first, then the declared ones.
        let builtIns = BuiltinParameter.allCases.map {
            ParameterDecl(
                name: $0.rawValue, defaultValue: Expr(.integer(0), SourceLocation(line: 1, column: 1)),
                location: SourceLocation(line: 1, column: 1), isBuiltIn: true)
        }
        parameterTypes = BuiltinParameter.allCases.map(\.type)
        let declared = program.parameters
        program.parameters = builtIns
        for var parameter in declared {
            if program.parameterIndex(parameter.name) != nil {
                let what = BuiltinParameter(rawValue: parameter.name) != nil ? "built-in parameter" : "parameter"
                throw error("'\(parameter.name)' is already a \(what)", parameter.location)
            }
            let (resolved, type) = try checkParameterExpression(parameter.defaultValue)
            guard type.isScalar else { throw error("a parameter must be a number", parameter.defaultValue.location) }
            parameter.defaultValue = resolved
            program.parameters.append(parameter)
            parameterTypes.append(type)
        }

        var tensorNames: Set<String> = []
        for index in program.tensors.indices {
            let tensor = program.tensors[index]
            if tensorNames.contains(tensor.name) || program.parameterIndex(tensor.name) != nil {
                throw error("'\(tensor.name)' is already declared", tensor.location)
            }
            tensorNames.insert(tensor.name)
            guard (1...6).contains(tensor.shape.count) else {
                throw error("a tensor has 1 to 6 dimensions, '\(tensor.name)' has \(tensor.shape.count)", tensor.location)
            }
            for (axis, extent) in tensor.shape.enumerated() {
                let (resolved, type) = try checkParameterExpression(extent)
                guard type == .int else { throw error("a dimension must be an integer, found \(type)", extent.location) }
                program.tensors[index].shape[axis] = resolved
            }
            if case .uniform(let lo, let hi) = tensor.initializer {
                let (l, lt) = try checkParameterExpression(lo)
                let (h, ht) = try checkParameterExpression(hi)
                guard lt.isScalar, ht.isScalar else { throw error("'uniform' bounds must be numbers", lo.location) }
                program.tensors[index].initializer = .uniform(l, h)
            }
            if case .quantize(var quantize) = tensor.initializer {
                // The tensors it reads and fills come before it, so they are set up first.
                func earlierInput(_ name: String) throws(Diagnostic) -> Int {
                    guard let i = program.tensors[..<index].firstIndex(where: { $0.name == name }), program.tensors[i].role == .input, !program.tensors[i].isInteger else {
                        throw error("'quantize' names '\(name)', which must be a float input declared before '\(tensor.name)'", tensor.location)
                    }
                    return i
                }
                quantize.source = try earlierInput(quantize.sourceName)
                quantize.scales = try earlierInput(quantize.scalesName)
                quantize.zeros = try earlierInput(quantize.zerosName)
                let (format, type) = try checkParameterExpression(quantize.format)
                guard type == .int else { throw error("the format of 'quantize' must be an integer", format.location) }
                quantize.format = format
                guard tensor.dtype == .u8 else { throw error("'quantize' fills u8 tensors (codes)", tensor.location) }
                program.tensors[index].initializer = .quantize(quantize)
            }
            if case .pool(var pool) = tensor.initializer {
                guard let i = program.tensors[..<index].firstIndex(where: { $0.name == pool.sourceName }), program.tensors[i].role == .input, !program.tensors[i].isInteger else {
                    throw error("'pool' names '\(pool.sourceName)', which must be a float input declared before '\(tensor.name)'", tensor.location)
                }
                guard !tensor.isInteger else { throw error("'pool' fills float tensors", tensor.location) }
                pool.source = i
                for keyPath in [\PoolInitializer.length, \PoolInitializer.stride, \PoolInitializer.validRows] {
                    let (resolved, type) = try checkParameterExpression(pool[keyPath: keyPath])
                    guard type == .int else { throw error("the sizes of 'pool' must be integers", resolved.location) }
                    pool[keyPath: keyPath] = resolved
                }
                program.tensors[index].initializer = .pool(pool)
            }
        }

        for index in program.requirements.indices {
            let (resolved, type) = try checkParameterExpression(program.requirements[index].condition)
            guard type == .int else { throw error("'require' takes an integer condition, found \(type)", resolved.location) }
            program.requirements[index].condition = resolved
        }

        for index in program.checks.indices {
            var check = program.checks[index]
            try checkCheck(&check)
            program.checks[index] = check
        }

        var kernelNames: Set<String> = []
        for index in program.kernels.indices {
            let kernel = program.kernels[index]
            if kernelNames.contains(kernel.name) { throw error("a kernel named '\(kernel.name)' already exists", kernel.location) }
            kernelNames.insert(kernel.name)
            program.kernels[index] = try checkKernel(kernel)
        }
        if program.kernels.isEmpty {
            throw error("the program has no kernel", SourceLocation(line: 1, column: 1))
        }
        return program
    }

    private mutating func checkCheck(_ check: inout CheckDecl) throws(Diagnostic) {
        guard let tensor = program.tensorIndex(check.tensorName) else {
            throw error("unknown tensor '\(check.tensorName)'", check.location)
        }
        guard program.tensors[tensor].role == .output else {
            throw error("'check' compares an output tensor; '\(check.tensorName)' is \(program.tensors[tensor].role.rawValue)", check.location)
        }
        guard check.argumentNames.count == check.reference.argumentCount else {
            throw error("'\(check.reference.rawValue)' takes \(check.reference.argumentCount) tensors, found \(check.argumentNames.count)", check.location)
        }
        check.tensor = tensor
        check.arguments = []
        for index in check.options.indices {
            let name = check.options[index].name
            guard check.reference.options.contains(where: { $0.name == name }) else {
                let takes = check.reference.options.isEmpty ? "it takes none" : "it takes: " + check.reference.options.map(\.name).joined(separator: ", ")
                throw error("'\(check.reference.rawValue)' takes no option '\(name)'; \(takes)", check.options[index].value.location)
            }
            let (resolved, type) = try checkParameterExpression(check.options[index].value)
            // The rope base and factor and the softcap are numbers; every other option an integer.
            let numeric = CheckDecl.numberOptionNames.contains(check.options[index].name)
            guard type == .int || (numeric && type == .float) else {
                throw error("'\(check.options[index].name)' must be \(numeric ? "a number" : "an integer"), found \(type)", resolved.location)
            }
            check.options[index].value = resolved
        }
        for (position, name) in check.argumentNames.enumerated() {
            guard let argument = program.tensorIndex(name) else { throw error("unknown tensor '\(name)'", check.location) }
            if check.reference.recordedArguments.contains(position) {
                // A recorded selection: the indices the program chose and wrote.
                guard program.tensors[argument].isInteger, program.tensors[argument].role != .input else {
                    throw error("'\(check.reference.rawValue)' reads the selection the program recorded as argument \(position + 1): an i32 temp or output the program writes; '\(name)' is not one", check.location)
                }
                check.arguments.append(argument)
                continue
            }
            guard program.tensors[argument].role == .input else {
                throw error("reference arguments are input tensors; '\(name)' is \(program.tensors[argument].role.rawValue)", check.location)
            }
            check.arguments.append(argument)
        }
    }

    // MARK: Kernels

    private mutating func checkKernel(_ kernel: KernelDecl) throws(Diagnostic) -> KernelDecl {
        slots = [:]
        slotTypes = []
        slotNames = []
        readOnly = []
        loopSlots = []
        activeLoops = []
        var result = kernel
        for index in kernel.axes.indices {
            let axis = kernel.axes[index]
            let (extent, type) = try checkParameterExpression(axis.extent)
            guard type == .int else { throw error("a grid extent must be an integer, found \(type)", axis.extent.location) }
            let slot = try declare(axis.name, .int, at: axis.extent.location)
            readOnly.insert(slot)
            result.axes[index] = GridAxis(name: axis.name, slot: slot, extent: extent)
        }
        if let threads = kernel.threads {
            let (resolved, type) = try checkParameterExpression(threads)
            guard type == .int else { throw error("a thread count must be an integer, found \(type)", threads.location) }
            result.threads = resolved
        }
        if let warps = kernel.warps {
            let (resolved, type) = try checkParameterExpression(warps)
            guard type == .int else { throw error("a warp count must be an integer, found \(type)", warps.location) }
            result.warps = resolved
        }
        if let stages = kernel.stages {
            let (resolved, type) = try checkParameterExpression(stages)
            guard type == .int else { throw error("a stage count must be an integer, found \(type)", stages.location) }
            result.stages = resolved
        }
        if let cluster = kernel.cluster {
            let (resolved, type) = try checkParameterExpression(cluster)
            guard type == .int else { throw error("a cluster's CTA count must be an integer, found \(type)", cluster.location) }
            result.cluster = resolved
        }
        clusterAxisName = nil
        if let axis = kernel.clusterAxis {
            guard let index = result.axes.firstIndex(where: { $0.name == axis.name }) else {
                throw error("'\(axis.name)' is not a grid axis of kernel '\(kernel.name)'; a cluster spans one of its grid axes (\(result.axes.map(\.name).joined(separator: ", ")))", axis.extent.location)
            }
            let (resolved, type) = try checkParameterExpression(axis.extent)
            guard type == .int else { throw error("a cluster's CTA count must be an integer, found \(type)", axis.extent.location) }
            result.clusterAxis = GridAxis(name: axis.name, slot: result.axes[index].slot, extent: resolved)
            clusterAxisName = axis.name
        }
        result.body = try checkBlock(kernel.body)
        result.slotNames = slotNames
        result.slotTypes = slotTypes
        result.dataSlots = try DataDependence.check(result, source: source)
        try MulticastCheck.check(result, source: source)
        return result
    }

    private mutating func declare(_ name: String, _ type: ValueType, at location: SourceLocation) throws(Diagnostic) -> Int {
        if program.parameterIndex(name) != nil {
            throw error("'\(name)' is a parameter and cannot be assigned", location)
        }
        if program.tensorIndex(name) != nil {
            throw error("'\(name)' is a tensor; read it with 'load \(name)[...]' and write it with 'store'", location)
        }
        if let slot = slots[name] {
            if readOnly.contains(slot) {
                throw error("'\(name)' is a grid axis or loop variable and cannot be assigned", location)
            }
            guard slotTypes[slot] == type else {
                throw error("'\(name)' was \(slotTypes[slot]) and cannot become \(type)", location)
            }
            return slot
        }
        let slot = slotTypes.count
        slots[name] = slot
        slotTypes.append(type)
        slotNames.append(name)
        return slot
    }

    private mutating func checkBlock(_ statements: [Stmt]) throws(Diagnostic) -> [Stmt] {
        var result: [Stmt] = []
        for statement in statements {
            result.append(try checkStatement(statement))
        }
        return result
    }

    private mutating func checkStatement(_ statement: Stmt) throws(Diagnostic) -> Stmt {
        switch statement.kind {
        case .assign(let name, _, let value):
            let (resolved, type) = try checkExpression(value, allowLoad: true)
            if statement.placement == .tensorMemory {
                if case .load = resolved.kind { throw error("a load cannot be placed in tensor memory ('-> tmem'): load into '-> sram' or '-> reg'", statement.location) }
                guard case .tile(rank: 2) = type else {
                    throw error("only a 2-D tile can be placed in tensor memory ('-> tmem'), not \(type.description)", statement.location)
                }
            }
            let slot = try declare(name, type, at: statement.location)
            return Stmt(.assign(name: name, slot: slot, resolved), statement.location, placement: statement.placement)
        case .store(let access, let value):
            let resolvedAccess = try checkAccess(access, storing: true)
            let (resolved, type) = try checkExpression(value)
            guard case .tile(let rank) = type else {
                throw error("a store writes a tile; the value is \(type)", value.location)
            }
            // A 1-D tile may also fill a slice keeping several dimensions (row-major).
            guard rank == resolvedAccess.tileRank || (rank == 1 && resolvedAccess.keptDimensions > 1) else {
                throw error("the slice of '\(access.tensorName)' is \(resolvedAccess.tileRank)-D but the stored tile is \(rank)-D", value.location)
            }
            return Stmt(.store(resolvedAccess, resolved), statement.location)
        case .loop(let variable, _, let lower, let upper, let body):
            let (lo, loType) = try checkExpression(lower)
            let (hi, hiType) = try checkExpression(upper)
            guard loType == .int, hiType == .int else {
                throw error("loop bounds must be integers", loType == .int ? upper.location : lower.location)
            }
            let slot: Int
            if let existing = slots[variable] {
                // A later loop may reuse an earlier loop's variable name, but not shadow an
                // enclosing loop, a grid axis or an ordinary variable.
                guard loopSlots.contains(existing), !activeLoops.contains(existing) else {
                    throw error(activeLoops.contains(existing) ? "'\(variable)' is already the variable of an enclosing loop"
                        : "'\(variable)' is already a variable of this kernel", statement.location)
                }
                slot = existing
            } else {
                slot = try declare(variable, .int, at: statement.location)
                readOnly.insert(slot)
                loopSlots.insert(slot)
            }
            activeLoops.insert(slot)
            let checkedBody = try checkBlock(body)
            activeLoops.remove(slot)
            return Stmt(.loop(variable: variable, slot: slot, lower: lo, upper: hi, body: checkedBody), statement.location)
        case .conditional(let condition, let then, let otherwise):
            let (resolved, type) = try checkExpression(condition)
            guard type == .int else { throw error("an 'if' condition must be an integer comparison, found \(type)", condition.location) }
            return Stmt(.conditional(resolved, then: try checkBlock(then), otherwise: try checkBlock(otherwise)), statement.location)
        }
    }

    /// `storing`: a store, which may write a tile of indices into an i32 tensor (a
    /// selection); loads read i32 tensors one element at a time.
    private mutating func checkAccess(_ access: TensorAccess, allowScalar: Bool = false, storing: Bool = false) throws(Diagnostic) -> TensorAccess {
        guard let tensor = program.tensorIndex(access.tensorName) else {
            throw error("unknown tensor '\(access.tensorName)'", access.location)
        }
        let declaration = program.tensors[tensor]
        guard access.indices.count == declaration.shape.count else {
            throw error("'\(access.tensorName)' has \(declaration.shape.count) dimensions, indexed with \(access.indices.count)", access.location)
        }
        var result = access
        result.tensor = tensor
        for (position, index) in access.indices.enumerated() {
            switch index {
            case .scalar(let e):
                result.indices[position] = .scalar(try checkIntExpression(e, "an index"))
            case .block(let b, let size, let location):
                result.indices[position] = .block(try checkIntExpression(b, "a block index"), try checkIntExpression(size, "a block size"), location)
            case .range(let lo, let hi, let location):
                result.indices[position] = .range(try checkIntExpression(lo, "a range bound"), try checkIntExpression(hi, "a range bound"), location)
            case .all:
                break
            }
        }
        if result.keptDimensions == 0 {
            guard allowScalar && declaration.isInteger else {
                throw error("this slice of '\(access.tensorName)' selects a single element; a tile keeps at least one dimension (single elements are read from i32 tensors only)", access.location)
            }
        } else if declaration.isInteger && !storing {
            throw error("'\(access.tensorName)' is an i32 tensor; read its elements one at a time (every index a single position)", access.location)
        }
        return result
    }

    private mutating func checkIntExpression(_ e: Expr, _ what: String) throws(Diagnostic) -> Expr {
        let (resolved, type) = try checkExpression(e)
        guard type == .int else { throw error("\(what) must be an integer, found \(type)", e.location) }
        return resolved
    }

    /// Expressions outside kernels may use parameters (declared earlier) only.
    private mutating func checkParameterExpression(_ e: Expr) throws(Diagnostic) -> (Expr, ValueType) {
        let savedSlots = slots
        slots = [:]
        defer { slots = savedSlots }
        return try checkExpression(e)
    }

    private mutating func checkExpression(_ e: Expr, allowLoad: Bool = false) throws(Diagnostic) -> (Expr, ValueType) {
        switch e.kind {
        case .integer:
            return (e, .int)
        case .float:
            return (e, .float)
        case .dtype:
            throw error("a dtype is only an argument of 'cast'", e.location)
        case .local(let slot):
            return (e, slotTypes[slot])
        case .parameter(let index):
            return (e, parameterTypes[index])
        case .name(let name):
            if let slot = slots[name] { return (Expr(.local(slot), e.location), slotTypes[slot]) }
            if let index = program.parameterIndex(name) {
                return (Expr(.parameter(index), e.location), parameterTypes[index])
            }
            if program.tensorIndex(name) != nil {
                throw error("'\(name)' is a tensor in HBM; read a tile of it with 'load \(name)[...]'", e.location)
            }
            throw error("unknown name '\(name)'", e.location)
        case .unary(let op, let operand):
            let (resolved, type) = try checkExpression(operand)
            if op == .not && type != .int { throw error("'not' takes an integer condition, found \(type)", e.location) }
            return (Expr(.unary(op, resolved), e.location), type)
        case .transpose(let operand):
            let (resolved, type) = try checkExpression(operand)
            guard type == .tile(rank: 2) else { throw error("'^T' transposes a 2-D tile, found \(type)", e.location) }
            return (Expr(.transpose(resolved), e.location), type)
        case .load(let access, let level):
            guard allowLoad else {
                throw error("'load' must be the whole right-hand side of an assignment (name the loaded tile)", e.location)
            }
            let resolved = try checkAccess(access, allowScalar: true)
            if let multicast = access.multicast {
                guard resolved.keptDimensions > 0, level == .sram else {
                    throw error("a multicast load writes a tile into shared memory: load it '-> sram multicast(\(multicast.axis))'", multicast.location)
                }
                guard let clusterAxisName else {
                    throw error("'multicast(\(multicast.axis))' needs a cluster kernel: declare the cluster on the kernel line, 'cluster(\(multicast.axis): 2)'", multicast.location)
                }
                guard multicast.axis == clusterAxisName else {
                    throw error("the kernel's cluster spans grid axis '\(clusterAxisName)', not '\(multicast.axis)': multicast over the cluster's axis ('multicast(\(clusterAxisName))')", multicast.location)
                }
            }
            if resolved.keptDimensions == 0 {
                return (Expr(.load(resolved, .registers), e.location), .int)
            }
            return (Expr(.load(resolved, level), e.location), .tile(rank: resolved.tileRank))
        case .binary(let op, let left, let right):
            let (l, lt) = try checkExpression(left)
            let (r, rt) = try checkExpression(right)
            return (Expr(.binary(op, l, r), e.location), try binaryType(op, lt, rt, e.location))
        case .call(let builtin, let arguments):
            var resolved: [Expr] = []
            var types: [ValueType] = []
            for argument in arguments {
                if case .dtype = argument.kind {
                    resolved.append(argument)
                    types.append(.int)
                    continue
                }
                let (r, t) = try checkExpression(argument)
                resolved.append(r)
                types.append(t)
            }
            return (Expr(.call(builtin, resolved), e.location), try callType(builtin, types, resolved, e.location))
        }
    }

    private func binaryType(_ op: BinaryOperator, _ l: ValueType, _ r: ValueType, _ location: SourceLocation) throws(Diagnostic) -> ValueType {
        switch op {
        case .and, .or:
            guard l == .int, r == .int else { throw error("'\(op.rawValue)' combines integer conditions", location) }
            return .int
        case _ where op.isComparison:
            guard l == .int, r == .int else {
                throw error("comparisons are between integers (conditions decide control flow, not data)", location)
            }
            return .int
        case .matmul:
            guard l == .tile(rank: 2), r == .tile(rank: 2) else {
                throw error("'@' multiplies two 2-D tiles, found \(l) and \(r)", location)
            }
            return .tile(rank: 2)
        case .remainder:
            guard l == .int, r == .int else { throw error("'%' takes integers", location) }
            return .int
        default:
            switch (l, r) {
            case (.int, .int): return .int
            case (.tile(let a), .tile(let b)): return .tile(rank: max(a, b))
            case (.tile(let a), _), (_, .tile(let a)): return .tile(rank: a)
            default: return .float
            }
        }
    }

    /// The type of a call, from the built-in's signature (`Builtin.spec`).
    private func callType(_ builtin: Builtin, _ types: [ValueType], _ arguments: [Expr], _ location: SourceLocation) throws(Diagnostic) -> ValueType {
        let specs = builtin.spec.arguments(count: arguments.count)
        for ((type, argument), spec) in zip(zip(types, arguments), specs) {
            var isDType = false
            if case .dtype = argument.kind { isDType = true }
            let fits: Bool
            switch spec.type {
            case _ where isDType: fits = spec.type == .dtype
            case .integer: fits = type == .int
            case .number: fits = type.isScalar
            case .numberOrTile: fits = true
            case .tile: if case .tile = type { fits = true } else { fits = false }
            case .tile2D: fits = type == .tile(rank: 2)
            case .dtype: fits = false
            }
            guard fits else {
                let expected: String
                switch spec.type {
                case .integer: expected = "an integer"
                case .number: expected = "a number"
                case .numberOrTile: expected = "a number or a tile"
                case .tile: expected = "a tile"
                case .tile2D: expected = "a 2-D tile"
                case .dtype: expected = "a dtype (fp32, fp16, bf16)"
                }
                throw error("\(spec.name) of '\(builtin.name)' must be \(expected), found \(type)", argument.location)
            }
        }
        switch builtin.spec.result {
        case .integer:
            return .int
        case .firstArgument, .widenedFirstArgument:
            return types[0]
        case .tile1D:
            return .tile(rank: 1)
        case .tileOfSizes:
            return .tile(rank: specs.filter { $0.role == .tileSize }.count)
        case .broadcast:
            if types.allSatisfy({ $0 == .int }) { return .int }
            if types.allSatisfy(\.isScalar) { return .float }
            let rank = types.compactMap { if case .tile(let r) = $0 { return r } else { return nil } }.max() ?? 1
            return .tile(rank: rank)
        case .floatOrFirst:
            return types[0] == .int ? .float : types[0]
        }
    }
}
