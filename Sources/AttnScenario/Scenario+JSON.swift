import AttnJSON
import AttnNumerics
import Foundation
import TileInterpreter

extension Scenario {
    /// The scenario format version this build reads.
    public static let formatVersion = 1

    /// The largest batch, head or KV-head count a scenario may give: 2^24.
    public static let maxCount = 1 << 24
    /// The largest head dimension: 65,536.
    public static let maxHeadDim = 1 << 16
    /// The longest context, query length or window: 2^40 tokens.
    public static let maxLength = 1 << 40
    /// The largest batch x heads x q_len x context x head_dim a run may have: 2^56. The
    /// matmul FLOPs of a forward and backward pass are a small multiple of it (10x for
    /// standard attention's backward), so every count stays within 64 bits.
    public static let maxProblemSize = 1 << 56

    /// The first size past the limits above: the field (`shape.heads`, `contexts[2]`) and
    /// what was expected; nil when every run fits. Scenario files are checked as they are
    /// read; `Runner` checks scenarios built in code, and the command line checks its own
    /// (naming the option that set the field).
    public func sizeViolation() -> (field: String, message: String)? {
        let counts: [(String, Int, Int)] = [
            ("shape.batch", batch, Scenario.maxCount), ("shape.heads", heads, Scenario.maxCount),
            ("shape.kv_heads", kvHeads, Scenario.maxCount), ("shape.head_dim", headDim, Scenario.maxHeadDim),
            ("shape.q_len", queryLength ?? 1, Scenario.maxLength),
        ]
        for (path, value, limit) in counts where value < 1 || value > limit {
            return (path, "expected a positive integer of at most \(limit), found \(value)")
        }
        for (index, context) in contexts.enumerated() {
            guard context >= 1 && context <= Scenario.maxLength else {
                return ("contexts[\(index)]", "expected a positive length of at most \(Scenario.maxLength), found \(context)")
            }
            if let problem = Scenario.sizeProblem(batch: batch, heads: heads, headDim: headDim, queryLength: queryLength, context: context) {
                return ("contexts[\(index)]", problem)
            }
        }
        return nil
    }

    /// `sizeViolation()` as an error at its field of the scenario file (or, for a scenario
    /// built in code, of the scenario's name).
    public func sizeError() -> JSONInputError? {
        sizeViolation().map { JSONInputError(file: file ?? name, path: $0.field, message: $0.message) }
    }

    /// Throws `sizeError()`: for callers that run a scenario without `Runner`.
    public func checkSize() throws(ScenarioError) {
        if let error = sizeError() { throw .invalid(error) }
    }

    /// Throws when a run of `shape` is too large to count in 64 bits; `label` names the
    /// run (an algorithm, or the command) in the message.
    public static func checkSize(_ shape: ProblemShape, label: String) throws(ScenarioError) {
        if let problem = sizeProblem(shape) { throw .invalid(JSONInputError(file: label, path: "", message: problem)) }
    }

    /// Why a run of `shape` is too large to count in 64 bits, or nil when it fits.
    public static func sizeProblem(_ shape: ProblemShape) -> String? {
        let counts = [("batch", shape.batch, maxCount), ("heads", shape.heads, maxCount), ("kv_heads", shape.kvHeads, maxCount),
                      ("head_dim", shape.headDim, maxHeadDim), ("q_len", shape.queryLength, maxLength), ("context", shape.keyLength, maxLength)]
        for (name, value, limit) in counts where value < 1 || value > limit {
            return "\(name): expected a positive integer of at most \(limit), found \(value)"
        }
        return sizeProblem(batch: shape.batch, heads: shape.heads, headDim: shape.headDim, queryLength: shape.queryLength, context: shape.keyLength)
    }

    /// Why a run at `context` is too large to count in 64 bits, or nil when it fits.
    public static func sizeProblem(batch: Int, heads: Int, headDim: Int, queryLength: Int?, context: Int) -> String? {
        var product = 1
        for factor in [batch, heads, queryLength ?? context, context, headDim] {
            let (next, overflow) = product.multipliedReportingOverflow(by: factor)
            if overflow || next > maxProblemSize {
                return "batch x heads x q_len x context x head_dim = \(batch) x \(heads) x \(queryLength ?? context) x \(context) x \(headDim) "
                    + "is more than the simulator counts exactly; expected at most 2^56 (\(maxProblemSize))"
            }
            product = next
        }
        return nil
    }

    /// Decodes and validates a scenario; errors name `file`, the field path and what was
    /// expected. Relative `.tile` paths are resolved against `directory`.
    public init(jsonText: String, file: String, directory: String? = nil) throws(JSONInputError) {
        try self.init(json: try JSONParser.parse(jsonText, file: file), file: file, directory: directory)
    }

    /// Decodes and validates a parsed scenario (as `init(jsonText:file:directory:)`).
    public init(json root: JSONValue, file: String, directory: String? = nil) throws(JSONInputError) {
        self.file = file
        var r = try JSONObjectReader(root, file: file, path: "")
        guard let version = try r.integer("version") else { throw r.error("version", "is required (the current version is \(Scenario.formatVersion))") }
        guard version == Scenario.formatVersion else {
            throw r.error("version", "expected \(Scenario.formatVersion), found \(version)")
        }
        if let study = try r.string("study"), study != "attention" {
            throw r.error("study", "expected \"attention\" here, found \"\(study)\"")
        }
        name = try r.string("name") ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        description = try r.string("description")
        hardware = try r.string("hardware") ?? "h100-sxm"
        if let modeName = try r.string("mode") {
            guard let parsed = ExecutionMode(rawValue: modeName) else {
                throw r.error("mode", "expected \"count\" or \"numeric\", found \"\(modeName)\"")
            }
            mode = parsed
        } else {
            mode = .count
        }
        if let dtypeName = try r.string("dtype") {
            // The run's dtype (Q, K, V, O); fp8 is a per-tensor dtype of programs.
            guard let parsed = DType(name: dtypeName), parsed.bytes >= 2 else {
                throw r.error("dtype", "expected \"fp32\", \"fp16\" or \"bf16\", found \"\(dtypeName)\"")
            }
            dtype = parsed
        } else {
            dtype = .fp16
        }
        seed = UInt64(try r.integer("seed", minimum: 0) ?? 1)
        if let t = try r.number("tolerance") {
            guard t > 0, t.isFinite else { throw r.error("tolerance", "expected a positive number, found \(t)") }
            tolerance = t
        }
        allowLong = try r.bool("allow_long") ?? false

        guard var shape = try r.object("shape") else { throw r.error("shape", "is required: {\"batch\", \"heads\", \"head_dim\"[, \"kv_heads\", \"q_len\", \"scale\"]}") }
        func need(_ reader: inout JSONObjectReader, _ key: String) throws(JSONInputError) -> Int {
            guard let v = try reader.integer(key, minimum: 1, maximum: key == "head_dim" ? Scenario.maxHeadDim : Scenario.maxCount) else {
                throw reader.error(key, "is required (a positive integer)")
            }
            return v
        }
        batch = try need(&shape, "batch")
        heads = try need(&shape, "heads")
        headDim = try need(&shape, "head_dim")
        kvHeads = try shape.integer("kv_heads", minimum: 1, maximum: Scenario.maxCount) ?? heads
        guard heads % kvHeads == 0 else {
            throw shape.error("kv_heads", "expected a divisor of heads (\(heads)), found \(kvHeads)")
        }
        queryLength = try shape.integer("q_len", minimum: 1, maximum: Scenario.maxLength)
        scale = try shape.number("scale")
        try shape.finish()

        guard let contextValues = try r.array("contexts"), !contextValues.isEmpty else {
            throw r.error("contexts", "is required: a non-empty array of lengths such as [1024, \"4k\"]")
        }
        var contexts: [Int] = []
        for (index, value) in contextValues.enumerated() {
            let path = r.path("contexts") + "[\(index)]"
            switch value {
            case .string(let text):
                guard let n = ContextList.parseLength(text) else {
                    throw JSONInputError(file: file, path: path, message: "expected a length such as 4096 or \"4k\", found \"\(text)\"")
                }
                guard n <= Scenario.maxLength else {
                    throw JSONInputError(file: file, path: path, message: "expected a length of at most \(Scenario.maxLength), found \"\(text)\" (\(n))")
                }
                contexts.append(n)
            default:
                contexts.append(try JSONObjectReader.integer(value, minimum: 1, maximum: Scenario.maxLength, file: file, path: path))
            }
            if let problem = Scenario.sizeProblem(
                batch: batch, heads: heads, headDim: headDim, queryLength: queryLength, context: contexts[contexts.count - 1])
            {
                throw JSONInputError(file: file, path: path, message: problem)
            }
        }
        if let (index, earlier) = ContextList.firstRepeat(contexts) {
            throw JSONInputError(file: file, path: r.path("contexts") + "[\(index)]", message: "\(contexts[index]) repeats contexts[\(earlier)]; give each length once")
        }
        self.contexts = contexts

        guard let algorithmValues = try r.array("algorithms"), !algorithmValues.isEmpty else {
            throw r.error("algorithms", "is required: a non-empty array such as [{\"algorithm\": \"flash2\"}]")
        }
        // Masks apply to every algorithm (each must declare the parameter).
        var maskParameters: [String: ScalarValue] = [:]
        if let causal = try r.bool("causal"), causal { maskParameters["causal"] = .int(1) }
        if let window = try r.integer("window", minimum: 1, maximum: Scenario.maxLength) { maskParameters["window"] = .int(window) }
        if let spec = try r.string("block_mask") {
            do {
                maskParameters.merge(try BlockMaskOption.parse(spec)) { _, new in new }
            } catch {
                throw r.error("block_mask", "expected \(BlockMaskOption.help), found \"\(spec)\" (\(error))")
            }
        }
        var algorithms: [Algorithm] = []
        for (index, value) in algorithmValues.enumerated() {
            let path = r.path("algorithms") + "[\(index)]"
            var a = try JSONObjectReader(value, file: file, path: path)
            guard var program = try a.string("algorithm") else {
                throw a.error("algorithm", "is required: a built-in name (standard, flash1, flash2) or a path to a .tile file")
            }
            if program.hasSuffix(".tile"), !program.hasPrefix("/"), let directory {
                program = (directory as NSString).appendingPathComponent(program)
            }
            let label = try a.string("label")
            var parameters = maskParameters
            if var p = try a.object("params") {
                for key in p.keys {
                    guard let v = p.value(key) else { continue }
                    switch v {
                    case .integer(let i): parameters[key] = .int(i)
                    case .number(let x) where x.isFinite: parameters[key] = .float(x)
                    default: throw p.error(key, "expected a number, found \(v.summary)")
                    }
                }
                try p.finish()
            }
            try a.finish()
            algorithms.append(Algorithm(program: program, label: label ?? (try? a.string("algorithm")) ?? program, parameters: parameters))
        }
        self.algorithms = algorithms
        try r.finish()
    }

    /// Reads and decodes a scenario file.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let text: String
        do {
            text = try TextFile.read(path)
        } catch {
            throw .unreadable(file: path, reason: error.reason)
        }
        do {
            return try Scenario(jsonText: text, file: path, directory: (path as NSString).deletingLastPathComponent)
        } catch {
            throw .invalid(error)
        }
    }
}
