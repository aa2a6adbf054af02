import AttnAlgorithms
import AttnNumerics
import TileInterpreter
import TileLanguage
import Workload

/// The tile programs of a decoder layer beyond attention (`Programs/*.tile`, compiled in
/// as `ModelPrograms`): today the tiled GEMM that counts every projection, FFN and LM head.
public enum ModelProgramLibrary {
    /// The checked GEMM program (`Programs/gemm.tile`).
    public static func gemm() throws(AlgorithmError) -> Program {
        guard let text = ModelPrograms.sources["gemm"] else {
            throw .unreadable(file: "builtin:gemm.tile", reason: "not compiled in (run scripts/embed-resources.py)")
        }
        do {
            return try Checker.check(SourceFile(name: "gemm.tile", text: text))
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
}
