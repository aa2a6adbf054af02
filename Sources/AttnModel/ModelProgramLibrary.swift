import AttnAlgorithms
import AttnNumerics
import TileInterpreter
import TileLanguage
import Workload

/// The tile programs of a decoder layer beyond attention (`Programs/*.tile`, compiled in
/// as `ModelPrograms`): the tiled GEMMs that count every projection, FFN and LM head, and
/// the verify attention of speculative decoding over a quantized KV cache.
public enum ModelProgramLibrary {
    /// The checked GEMM program (`Programs/gemm.tile`).
    public static func gemm() throws(AlgorithmError) -> Program { try program("gemm") }

    /// The checked quantized GEMM program (`Programs/gemm-quant.tile`): W as codes and
    /// scales, dequantized on chip or fed to an FP8/FP4 MMA.
    public static func gemmQuant() throws(AlgorithmError) -> Program { try program("gemm-quant") }

    /// The checked verify program over a quantized KV cache (`Programs/tree-verify-quant.tile`):
    /// tree-verify's blocks with K and V read as fp8, int8, int4, nvfp4 or mxfp4 codes.
    public static func treeVerifyQuant() throws(AlgorithmError) -> Program { try program("tree-verify-quant") }

    /// The compiled-in program `name`, checked.
    static func program(_ name: String) throws(AlgorithmError) -> Program {
        guard let text = ModelPrograms.sources[name] else {
            throw .unreadable(file: "builtin:\(name).tile", reason: "not compiled in (run scripts/embed-resources.py)")
        }
        do {
            return try Checker.check(SourceFile(name: "\(name).tile", text: text))
        } catch {
            throw .invalid(error)
        }
    }

    /// How gemm.tile runs a product: its parameters M, Kin and Nout. The tile language
    /// binds its built-in parameters (batch, heads, N, Nkv, d) from an attention shape,
    /// which a GEMM reads none of (its defaults are overridden), so they are those of a
    /// one-head problem of one query and key, d = 64.
    public static func gemmBinding(_ shape: GEMMShape) -> (shape: ProblemShape, parameters: [String: ScalarValue]) {
        (ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 64),
         ["M": .int(shape.m), "Kin": .int(shape.k), "Nout": .int(shape.n)])
    }

    /// gemm-quant.tile's format parameters for weights stored in `format` (quantized):
    /// mode, fmt (the codes, `KVQuantFormat`), sdt (the block scales' dtype: 0 none, 1
    /// fp16, 2 fp8e4m3, 3 e8m0, 4 fp32 per 128 x 128 block, fp8-block128 under the FP8 MMA,
    /// whose promotion every 128 inner elements applies them) and WB (elements per block
    /// scale). fp8-block128 weights dequantized for a 16-bit MMA (mode 0) read their codes
    /// with one scale per tensor (sdt 0).
    public static func quantBinding(_ format: TensorFormat, mode: Int) -> [String: ScalarValue] {
        let scale: Int
        switch format.scaleDType {
        case .fp16?: scale = 1
        case .fp8e4m3?: scale = 2
        case .e8m0?: scale = 3
        case .fp32? where format == .fp8Block128 && mode == 1: scale = 4
        default: scale = 0
        }
        return [
            "mode": .int(mode), "fmt": .int(format.codeFormat?.rawValue ?? 0), "sdt": .int(scale),
            "WB": .int(format.blockElements ?? 128),
        ]
    }
}
