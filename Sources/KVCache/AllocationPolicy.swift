/// How a server reserves KV-cache memory for a request.
public enum AllocationPolicy: Sendable, Equatable, CustomStringConvertible {
    /// PagedAttention: blocks of `blockSize` tokens allocated as the sequence grows.
    case paged(blockSize: Int)
    /// Orca (Max): a contiguous reservation of the maximum sequence length.
    case contiguousMax
    /// Orca (Pow2): a contiguous reservation of the prompt plus its output length rounded
    /// up to a power of two, over-reserving the output at most 2x (Kwon et al. 2023,
    /// Section 6.1: "if the true output length is 25, it reserves 32 positions for
    /// outputs").
    case contiguousPow2
    /// Orca (Oracle): a contiguous reservation of exactly the final length.
    case contiguousOracle

    /// The stable names used on the command line and in JSON.
    public var description: String {
        switch self {
        case .paged: return "paged"
        case .contiguousMax: return "contiguous-max"
        case .contiguousPow2: return "contiguous-pow2"
        case .contiguousOracle: return "contiguous-oracle"
        }
    }

    /// Slots reserved up front for a request of `prompt` and `output` tokens (contiguous
    /// policies; an allocator may round them up further, as the buddy system does).
    func reservation(prompt: Int, output: Int, maxLength: Int) -> Int {
        switch self {
        case .paged: return 0
        case .contiguousMax: return maxLength
        case .contiguousPow2: return prompt + ContiguousAllocator.powerOfTwo(atLeast: output)
        case .contiguousOracle: return prompt + output
        }
    }
}

/// How sequences of one request share blocks (paged policy only; Kwon et al. 2023, 4.4).
public enum SharingMode: Sendable, Equatable, CustomStringConvertible {
    case none
    /// n samples of one prompt share the prompt's blocks.
    case parallelSampling(samples: Int)
    /// `width` beams fork and free; beams share the blocks of their common prefix.
    case beamSearch(width: Int)
    /// Every request starts with the same `tokens`-token prefix, cached once.
    case sharedPrefix(tokens: Int)

    public var description: String {
        switch self {
        case .none: return "none"
        case .parallelSampling(let n): return "parallel-sampling(\(n))"
        case .beamSearch(let w): return "beam-search(\(w))"
        case .sharedPrefix(let t): return "shared-prefix(\(t))"
        }
    }

    /// Sequences a request runs.
    var sequences: Int {
        switch self {
        case .parallelSampling(let n): return n
        case .beamSearch(let w): return w
        default: return 1
        }
    }
}
