import AttnNumerics

/// Arithmetic and logical binary operators, from loosest to tightest binding group.
public enum BinaryOperator: String, Sendable, Equatable {
    case or, and
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case add = "+", subtract = "-"
    case multiply = "*", divide = "/", remainder = "%", matmul = "@"

    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: return true
        default: return false
        }
    }
}

public enum UnaryOperator: String, Sendable, Equatable {
    case negate = "-"
    case not
}

/// The memory level a `load` places its tile in, or (`x = expr -> tmem`) an assignment's.
public enum TileLevel: String, Sendable, Equatable, Hashable {
    case sram
    case registers = "reg"
    /// Blackwell's tensor memory, the accumulator storage of `tcgen05.mma`: only an
    /// assignment's result is placed there (docs/tile-language.md, "Tensor memory").
    case tensorMemory = "tmem"
}

/// An expression, with the location of its first token (or its operator for binaries).
public struct Expr: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        case integer(Int)
        case float(Double)
        /// A name as written; the checker replaces it with `.local` or `.parameter`.
        case name(String)
        /// A kernel-local variable (grid axis, loop variable or assigned name) by slot.
        case local(Int)
        /// A program parameter by index into `Program.parameters`.
        case parameter(Int)
        case unary(UnaryOperator, Expr)
        case binary(BinaryOperator, Expr, Expr)
        case call(Builtin, [Expr])
        /// The `^T` postfix: a 2-D tile with rows and columns swapped.
        case transpose(Expr)
        /// `load T[...] -> level`: a tile read from an HBM tensor; with every index a single
        /// position on an i32 tensor, an integer read into a register.
        case load(TensorAccess, TileLevel)
        /// A dtype name, only as the second argument of `cast`.
        case dtype(DType)
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, _ location: SourceLocation) {
        self.kind = kind
        self.location = location
    }
}

/// One index of a tensor access.
public enum TensorIndex: Sendable, Equatable {
    /// A single position; the dimension is dropped from the tile.
    case scalar(Expr)
    /// `rows(b, B)` / `cols(b, B)`: positions b*B ..< min((b+1)*B, extent), ragged at the end.
    case block(Expr, Expr, SourceLocation)
    /// `a ..< b`: positions a ..< b, which must lie inside the dimension.
    case range(Expr, Expr, SourceLocation)
    /// `:`: the whole dimension.
    case all(SourceLocation)
}

/// `T[i, rows(j, B), :]`: the tensor, by name and (after checking) index, and its indices.
public struct TensorAccess: Sendable, Equatable {
    public var tensorName: String
    /// Index into `Program.tensors`, filled in by the checker.
    public var tensor: Int
    public var indices: [TensorIndex]
    public var location: SourceLocation
    /// `load T[...] -> sram multicast(c)`: the load is one TMA multicast to every CTA of
    /// the kernel's cluster along grid axis `c` (nil: each block loads its own tile).
    public var multicast: Multicast? = nil

    public init(tensorName: String, tensor: Int = -1, indices: [TensorIndex], location: SourceLocation, multicast: Multicast? = nil) {
        self.tensorName = tensorName
        self.tensor = tensor
        self.indices = indices
        self.location = location
        self.multicast = multicast
    }

    /// Dimensions the slice keeps: its non-scalar indices.
    public var keptDimensions: Int {
        indices.filter { if case .scalar = $0 { return false } else { return true } }.count
    }

    /// The rank of the tile this access reads or writes: 1 for one kept dimension, else 2
    /// (the last kept dimension gives the columns; the others flatten into rows, in
    /// row-major order).
    public var tileRank: Int { min(keptDimensions, 2) }
}

/// `multicast(c)` after a load's `-> sram`: the CTAs of one thread-block cluster along
/// grid axis `c` (the kernel's `cluster(c: n)`) load the same tile, which the TMA reads
/// from the L2 once and writes into the shared memory of all n of them
/// (`cp.async.bulk.tensor.*.shared::cluster.global ... .multicast::cluster` with a ctaMask,
/// PTX ISA 8.0, sm_90a and later).
public struct Multicast: Sendable, Equatable {
    /// The grid axis the cluster spans, as written.
    public var axis: String
    /// Where `multicast` is written, for errors.
    public var location: SourceLocation

    public init(axis: String, location: SourceLocation) {
        self.axis = axis
        self.location = location
    }
}

/// A statement of a kernel body.
public struct Stmt: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        /// `name = expr`; `slot` is filled in by the checker.
        case assign(name: String, slot: Int, Expr)
        /// `store T[...] = expr`.
        case store(TensorAccess, Expr)
        /// `for v in lo ..< hi:` with a body.
        case loop(variable: String, slot: Int, lower: Expr, upper: Expr, body: [Stmt])
        /// `if cond:` with a body and an optional `else:` body.
        case conditional(Expr, then: [Stmt], otherwise: [Stmt])
    }

    public var kind: Kind
    public var location: SourceLocation
    /// `x = expr -> tmem`: the level an assignment's result is placed in (nil: registers,
    /// or shared memory for a rearranged shared-memory tile).
    public var placement: TileLevel?

    public init(_ kind: Kind, _ location: SourceLocation, placement: TileLevel? = nil) {
        self.kind = kind
        self.location = location
        self.placement = placement
    }
}

/// `param NAME = default`.
public struct ParameterDecl: Sendable, Equatable {
    public var name: String
    public var defaultValue: Expr
    public var location: SourceLocation
    /// Built-in parameters are bound from the run (shape, dtype, hardware), not declared.
    public var isBuiltIn: Bool
}

/// The role of an HBM tensor in a program.
public enum TensorRole: String, Sendable, Equatable {
    /// Filled with seeded random values before the run (Q, K, V, ...).
    case input
    /// Written by the program and checked against a reference.
    case output
    /// Workspace written and read by the program (S, P, partial outputs, ...).
    case temp
}

/// How an input tensor is filled before a numeric run.
public enum TensorInitializer: Sendable, Equatable {
    /// Standard normal values (the default).
    case normal
    /// Uniform values in [lo, hi) (parameter expressions).
    case uniform(Expr, Expr)
    /// A random permutation of 0 ..< element count (i32 tensors: page tables).
    case permutation
    /// `quantize(K, KS, KZ, format)`: the codes of the input K (declared earlier, same
    /// leading dimensions) in `KVQuantFormat` `format` (a parameter expression: 0
    /// fp8e4m3, 1 fp8e5m2, 2 int8, 3 int4), its per-group scales into KS and zero points
    /// into KZ (inputs declared earlier, [..., groups]); see `QuantizeInitializer`.
    case quantize(QuantizeInitializer)
    /// `pool(K, op, l, s, n)`: block statistics of the input K (declared earlier): block c
    /// of the target is the mean, minimum or maximum of K's rows c s ..< c s + l that lie
    /// before n (see `PoolInitializer`). Metadata a sparse-attention KV cache keeps beside
    /// its keys (Quest's page min/max, MoBA's and NSA's pooled keys).
    case pool(PoolInitializer)
}

/// A `pool(...)` initializer: the input it reads, the statistic, and the blocks (parameter
/// expressions): length, stride and the number of valid rows.
public struct PoolInitializer: Sendable, Equatable {
    /// The statistic over a block's rows, per column.
    public enum Statistic: String, Sendable, Equatable, CaseIterable {
        case mean, min, max
    }

    public var sourceName: String
    /// Index into `Program.tensors`, filled in by the checker.
    public var source = -1
    public var statistic: Statistic
    public var length: Expr
    public var stride: Expr
    public var validRows: Expr

    public init(sourceName: String, statistic: Statistic, length: Expr, stride: Expr, validRows: Expr) {
        self.sourceName = sourceName
        self.statistic = statistic
        self.length = length
        self.stride = stride
        self.validRows = validRows
    }
}

/// A `quantize(...)` initializer: the tensors it reads and fills, by name and (after
/// checking) index, and the format.
public struct QuantizeInitializer: Sendable, Equatable {
    public var sourceName: String, scalesName: String, zerosName: String
    /// Indices into `Program.tensors`, filled in by the checker.
    public var source = -1, scales = -1, zeros = -1
    public var format: Expr

    public init(sourceName: String, scalesName: String, zerosName: String, format: Expr) {
        self.sourceName = sourceName
        self.scalesName = scalesName
        self.zerosName = zerosName
        self.format = format
    }
}

/// `input|output|temp NAME[dims] [dtype | i32] [initializer]`.
public struct TensorDecl: Sendable, Equatable {
    public var name: String
    public var role: TensorRole
    public var shape: [Expr]
    /// nil: the run's storage dtype (ignored for integer tensors).
    public var dtype: DType?
    /// `i32`: 32-bit integers (block tables); read element by element with scalar loads.
    public var isInteger: Bool = false
    public var initializer: TensorInitializer = .normal
    public var location: SourceLocation
}

/// `check O = attention(Q, K, V)`: an output and the reference it must agree with.
public struct CheckDecl: Sendable, Equatable {
    public var tensorName: String
    public var tensor: Int
    public var reference: ReferenceKind
    public var argumentNames: [String]
    public var arguments: [Int]
    /// Mask options of the reference: `causal: expr`, `window: expr` (parameter expressions).
    public var options: [CheckOption] = []
    public var location: SourceLocation

    /// The option names some reference accepts (`ReferenceKind.options`), each once.
    public static let optionNames: [String] = ReferenceKind.allOptions.map(\.name)

    /// The options that may be floats (the others are integers).
    public static let numberOptionNames: Set<String> = Set(ReferenceKind.allOptions.filter(\.isNumber).map(\.name))
}

/// `causal: 1` or `window: W` in a `check` line.
public struct CheckOption: Sendable, Equatable {
    public var name: String
    public var value: Expr
}

/// `require cond, "message"`: a condition on the parameters checked before the run.
public struct RequireDecl: Sendable, Equatable {
    public var condition: Expr
    public var message: String?
    public var location: SourceLocation
}

/// One named axis of a kernel's grid of thread blocks.
public struct GridAxis: Sendable, Equatable {
    public var name: String
    public var slot: Int
    public var extent: Expr
}

/// `kernel NAME grid(a: extent, ...) [threads(n) | warps(n)] [stages(n)] [cluster(n) | cluster(c: n)] [mma(sync|async[, dtype])]:`
/// with a body, run once per thread block.
public struct KernelDecl: Sendable, Equatable {
    public var name: String
    public var axes: [GridAxis]
    /// Threads per block (a parameter expression); nil: `KernelDecl.defaultThreads`.
    /// Counts do not depend on it; the cost model's occupancy and bandwidth do.
    public var threads: Expr?
    /// Warps per block (a parameter expression): `warps(n)` declares 32 n threads; a
    /// kernel says `threads` or `warps`, not both.
    public var warps: Expr? = nil
    /// Software-pipelining stages of the kernel's loads (a parameter expression, as Triton's
    /// `num_stages`); nil: `KernelDecl.defaultStages`. The cost model's overlap of loads
    /// with math depends on it; counts do not.
    public var stages: Expr? = nil
    /// CTAs one thread block spans (`cluster(n)`, a parameter expression; nil: 1). 2 is
    /// Blackwell's CTA pair (`tcgen05.mma.cta_group::2`): the block is the two CTAs of a
    /// cluster pair on two SMs, computing one MMA of twice the rows, each CTA holding half
    /// of the shared B operand, so the block loads each B tile once for both. Its threads,
    /// shared memory, registers and tensor memory are the two SMs'. Counts do not depend on
    /// it; the capacities and the cost model's SMs do.
    public var cluster: Expr? = nil
    /// `cluster(c: n)`: consecutive blocks along grid axis `c`, n at a time, form one
    /// thread-block cluster (Hopper's and Blackwell's `__cluster_dims__`; CUDA C++
    /// Programming Guide, "Thread Block Clusters"), whose CTAs may share a load by TMA
    /// multicast (`load ... -> sram multicast(c)`). The axis by name and slot (filled in by
    /// the checker); `extent` is n, a parameter expression. Each block is still one CTA;
    /// only the SM->L2 bytes of its multicast loads depend on it.
    public var clusterAxis: GridAxis? = nil
    /// The matrix-multiply instructions the kernel is compiled to (`mma(sync)` or
    /// `mma(async)`); nil: `sync`. The cost model's tensor-core rate depends on it.
    public var mma: MMAKind? = nil
    /// The dtype the kernel's tensor cores multiply (`mma(async, fp8e4m3)`): the cost
    /// model's matmul rate is this dtype's; nil: the run's storage dtype. FlashAttention-3's
    /// FP8 path feeds e4m3 Q, K, P and V to Hopper's FP8 wgmma while it stores O in 16 bits.
    public var mmaDType: DType? = nil
    public var body: [Stmt]
    public var location: SourceLocation
    /// Names of the kernel's local slots (filled in by the checker), for traces and errors.
    public var slotNames: [String]
    /// Threads per block when a kernel does not say: 4 warps, as FlashAttention-2's
    /// forward kernels use.
    public static let defaultThreads = 128
    /// Pipelining stages when a kernel does not say: 1, loads issued as they are needed.
    public static let defaultStages = 1

    /// Static types of the kernel's local slots (filled in by the checker).
    public var slotTypes: [ValueType] = []
    /// Integer slots holding values read from tensors (or computed from them): they may
    /// only index tensors, so that counts never depend on data.
    public var dataSlots: Set<Int> = []
}

/// The tensor-core instructions a kernel uses.
public enum MMAKind: String, Sendable, Equatable, CaseIterable {
    /// Warp-level synchronous MMA (`mma.sync`, m16n8k16; Ampere and later, and code built
    /// for sm80 such as FlashAttention-2): each warp reads its B operand from shared memory.
    case sync
    /// Warp-group asynchronous MMA (Hopper's `wgmma`, m64nNk16): four warps share the B
    /// operand, read by the tensor cores from shared memory, and the math overlaps. Needs
    /// the profile's `mma_rows_per_warp_group` rows per warp group; with fewer rows, or on a
    /// GPU without it, the kernel runs `sync`.
    case async
}

/// A whole tile-language program as parsed, and after checking, resolved.
public struct Program: Sendable, Equatable {
    public var source: SourceFile
    /// The `about "..."` line: a one-line description for listings.
    public var about: String?
    /// Built-in parameters first, then declared ones in source order.
    public var parameters: [ParameterDecl]
    public var tensors: [TensorDecl]
    public var checks: [CheckDecl]
    public var requirements: [RequireDecl]
    public var kernels: [KernelDecl]

    /// The declared (overridable) parameters, in source order.
    public var declaredParameters: [ParameterDecl] { parameters.filter { !$0.isBuiltIn } }

    public func parameterIndex(_ name: String) -> Int? { parameters.firstIndex { $0.name == name } }
    public func tensorIndex(_ name: String) -> Int? { tensors.firstIndex { $0.name == name } }
}
