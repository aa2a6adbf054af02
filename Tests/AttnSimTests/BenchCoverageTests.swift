import AttnAlgorithms
import Testing
@testable import AttnCLI

/// `attnsim bench` covers every built-in algorithm, once at 1M tokens and once by its
/// `tune` sweep, and the cases count mode once replayed block by block.
@Suite struct BenchCoverageTests {
    @Test func everyBuiltinAndItsTune() {
        let timed = Set(BenchCommand.builtinCases.map(\.algorithm))
        #expect(timed == Set(AlgorithmLibrary.builtInNames))
        #expect(BenchCommand.tuneCases == AlgorithmLibrary.builtInNames)
        // The flat cases hold each mask kind at 1M and at 16M tokens.
        let labels = BenchCommand.flatCases.map { "\($0.label) \($0.context)" }
        for needle in ["block_pattern=2", "block_local=3", "Br=47", "Br=64", "standard causal=1"] {
            #expect(labels.contains { $0.contains(needle) && $0.hasSuffix("1048576") })
            #expect(labels.contains { $0.contains(needle) && $0.hasSuffix("16777216") })
        }
    }
}
