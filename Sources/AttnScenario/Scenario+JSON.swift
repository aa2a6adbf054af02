import AttnJSON
import AttnNumerics
import Foundation
import TileInterpreter

extension Scenario {
    /// The scenario format version this build reads.
    public static let formatVersion = 1

    /// Decodes and validates a scenario; errors name `file`, the field path and what was
    /// expected. Relative `.tile` paths are resolved against `directory`.
    public init(jsonText: String, file: String, directory: String? = nil) throws(JSONInputError) {
        let root = try JSONParser.parse(jsonText, file: file)
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
            guard let parsed = DType(name: dtypeName) else {
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
            guard let v = try reader.integer(key, minimum: 1) else { throw reader.error(key, "is required (a positive integer)") }
            return v
        }
        batch = try need(&shape, "batch")
        heads = try need(&shape, "heads")
        headDim = try need(&shape, "head_dim")
        kvHeads = try shape.integer("kv_heads", minimum: 1) ?? heads
        guard heads % kvHeads == 0 else {
            throw shape.error("kv_heads", "expected a divisor of heads (\(heads)), found \(kvHeads)")
        }
        queryLength = try shape.integer("q_len", minimum: 1)
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
                contexts.append(n)
            default:
                contexts.append(try JSONObjectReader.integer(value, minimum: 1, file: file, path: path))
            }
        }
        self.contexts = contexts

        guard let algorithmValues = try r.array("algorithms"), !algorithmValues.isEmpty else {
            throw r.error("algorithms", "is required: a non-empty array such as [{\"algorithm\": \"flash2\"}]")
        }
        // Masks apply to every algorithm (each must declare the parameter).
        var maskParameters: [String: ScalarValue] = [:]
        if let causal = try r.bool("causal"), causal { maskParameters["causal"] = .int(1) }
        if let window = try r.integer("window", minimum: 1) { maskParameters["window"] = .int(window) }
        if let spec = try r.string("block_mask") {
            guard let mask = BlockMaskOption.parameters(spec) else {
                throw r.error("block_mask", "expected \(BlockMaskOption.help), found \"\(spec)\"")
            }
            maskParameters.merge(mask) { _, new in new }
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
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(file: path, reason: error.localizedDescription)
        }
        do {
            return try Scenario(jsonText: text, file: path, directory: (path as NSString).deletingLastPathComponent)
        } catch {
            throw .invalid(error)
        }
    }
}
