import AttnNumerics

extension Remedy {
    /// The option that makes the change, as the command line spells it: the library's
    /// errors name the setting (`Remedy`), the command line words it for its flags.
    var flag: String {
        switch self {
        case .allowLong: return "--allow-long"
        case .countMode: return "--mode count"
        case .parameter: return "--param"
        case .window: return "--window"
        case .prefixCaching: return "--prefix-caching"
        case .tensorParallel(let gpus): return "--tp \(gpus)"
        case .contextParallel(let gpus): return gpus.map { "--cp \($0)" } ?? "--cp"
        case .oneGPU: return "--tp 1 --cp 1"
        case .fixedTiming(let seconds): return seconds.map { "--timing fixed:\($0)" } ?? "--timing fixed:S"
        case .expertParallel(let gpus): return gpus.map { "--ep \($0)" } ?? "--ep"
        case .pipelineParallel(let stages): return stages.map { "--pp \($0)" } ?? "--pp"
        case .attentionDataParallel: return "--attention-dp"
        case .disaggregate: return "--disaggregate"
        case .activations(let format): return "--activations \(format)"
        case .kvFormat(let format): return "--kv \(format)"
        }
    }
}
