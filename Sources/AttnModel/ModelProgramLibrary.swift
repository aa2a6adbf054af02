import AttnAlgorithms
import TileLanguage

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
}
