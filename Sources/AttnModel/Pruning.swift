import AttnNumerics

/// Structured pruning in the style of Sheared-LLaMA (Xia et al. 2023, "Sheared LLaMA:
/// Accelerating Language Model Pre-training via Structured Pruning", Section 2.1): whole
/// layers, attention heads, FFN intermediate channels and hidden dimensions are removed,
/// head size kept. Each target is an absolute size (`heads=16`) or the kept fraction of
/// the original (`heads=0.5`).
public struct Pruning: Sendable, Equatable {
    /// A target: an absolute size, or the fraction of the original kept.
    public enum Target: Sendable, Equatable {
        case size(Int)
        case fraction(Double)

        func apply(to original: Int) -> Int {
            switch self {
            case .size(let n): return n
            case .fraction(let f): return max(1, Int((Double(original) * f).rounded()))
            }
        }
    }

    public var layers: Target?
    public var hidden: Target?
    public var heads: Target?
    public var ffn: Target?

    public init(layers: Target? = nil, hidden: Target? = nil, heads: Target? = nil, ffn: Target? = nil) {
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.ffn = ffn
    }

    /// Parses `heads=16,ffn=5504,layers=24,hidden=2048` (any subset, each once): a size
    /// (`NumberFormat.size`) of at least 1, or a kept fraction in (0, 1] written with a
    /// point (`heads=0.5`).
    public init(parsing text: String) throws(PruningSpecError) {
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { throw .notKeyValue(item: String(item)) }
            let target: Target
            if let n = NumberFormat.size(parts[1]), n >= 1 {
                target = .size(n)
            } else if parts[1].contains("."), let f = Double(parts[1]), f > 0, f <= 1 {
                target = .fraction(f)
            } else {
                throw .badTarget(key: parts[0], value: parts[1])
            }
            let key = parts[0]
            let already: Bool
            switch key {
            case "layers": already = layers != nil; layers = target
            case "hidden": already = hidden != nil; hidden = target
            case "heads": already = heads != nil; heads = target
            case "ffn": already = ffn != nil; ffn = target
            default: throw .unknownKey(key)
            }
            if already { throw .repeated(key) }
        }
    }

    /// `architecture` pruned; a target larger than the original, or heads that no longer
    /// divide into the KV groups, is an error.
    public func apply(to architecture: Architecture) throws(ModelShapeError) -> Architecture {
        var a = architecture
        if let hidden {
            let h = hidden.apply(to: a.hiddenSize)
            guard h <= a.hiddenSize else { throw ModelShapeError("prune hidden=\(h): more than the model's \(a.hiddenSize)") }
            a.hiddenSize = h
        }
        if let layers {
            let count = a.layers.count
            let n = layers.apply(to: count)
            guard n <= count else { throw ModelShapeError("prune layers=\(n): more than the model's \(count)") }
            // Evenly spaced survivors keep a hybrid model's mix of layer kinds.
            a.layers = (0..<n).map { a.layers[$0 * count / n] }
        }
        for index in a.layers.indices {
            if let heads, case .attention(let h, let kv) = a.layers[index].mixer {
                let newHeads = heads.apply(to: h)
                guard newHeads <= h else { throw ModelShapeError("prune heads=\(newHeads): more than layer \(index)'s \(h)") }
                // MHA stays MHA; a GQA model keeps its KV heads, which must divide the new count.
                let newKV = kv == h ? newHeads : kv
                guard newHeads % newKV == 0 else {
                    throw ModelShapeError("prune heads=\(newHeads): layer \(index) has \(kv) KV heads, which must divide the query heads")
                }
                a.layers[index].mixer = .attention(heads: newHeads, kvHeads: newKV)
            }
            if let ffn {
                switch a.layers[index].ffn {
                case .dense(let i):
                    let n = ffn.apply(to: i)
                    guard n <= i else { throw ModelShapeError("prune ffn=\(n): more than layer \(index)'s \(i)") }
                    a.layers[index].ffn = .dense(intermediate: n)
                case .moe(let e, let k, let s, let i):
                    let n = ffn.apply(to: i)
                    guard n <= i else { throw ModelShapeError("prune ffn=\(n): more than layer \(index)'s expert size \(i)") }
                    a.layers[index].ffn = .moe(experts: e, topK: k, shared: s, intermediate: n)
                }
            }
        }
        a.name += " (pruned)"
        return a
    }
}

/// Why a pruning spec (`heads=16,ffn=5504`) could not be read. The command line words it
/// for `--prune`; `description` words it for any other source.
public enum PruningSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An item that is not `KEY=VALUE`.
    case notKeyValue(item: String)
    /// A value that is neither a size of at least 1 nor a kept fraction in (0, 1].
    case badTarget(key: String, value: String)
    /// A key other than heads, ffn, layers and hidden.
    case unknownKey(String)
    /// A key given twice.
    case repeated(String)

    public var description: String {
        switch self {
        case .notKeyValue(let item): return "prune: expected KEY=VALUE items (heads, ffn, layers, hidden), found '\(item)'"
        case .badTarget(let key, let value): return "prune: \(key): expected a size of at least 1 or a kept fraction in (0, 1] such as 0.5, found '\(value)'"
        case .unknownKey(let key): return "prune: expected heads, ffn, layers or hidden, found '\(key)'"
        case .repeated(let key): return "prune: '\(key)' given more than once"
        }
    }
}
