import Testing
import AttnAlgorithms
import AttnJSON
import AttnNumerics
import AttnScenario
import TileInterpreter
import TileLanguage
import AttnTestSupport

/// Bad input gets an error, never a crash: random mutations of real programs and files.
@Suite struct RobustnessTests {
    /// Deletes, duplicates or replaces a few characters at random positions (`Mutation`).
    func mutate(_ text: String, _ generator: inout SeededGenerator) -> String {
        Mutation.mutate(text, &generator)
    }

    /// Mutated programs either check (and then bind and count, or fail with a
    /// diagnostic) or fail with a diagnostic whose location is inside the file.
    @Test(arguments: AlgorithmLibrary.builtInNames)
    func mutatedProgramsNeverCrash(_ name: String) throws {
        let original = try AlgorithmLibrary.builtInSource(name).text
        var generator = SeededGenerator(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).count
        for _ in 0..<300 {
            let text = mutate(original, &generator)
            do {
                let program = try Checker.check(SourceFile(name: "m.tile", text: text))
                let shape = ProblemShape(batch: 1, heads: 2, kvHeads: 1, queryLength: 40, keyLength: 50, headDim: 8)
                if let bound = try? BoundProgram(program: program, shape: shape, dtype: .fp16, hardware: TestSupport.h100) {
                    _ = try? Simulator.run(bound, options: RunOptions(mode: .count))
                }
            } catch {
                #expect(error.location.line >= 1 && error.location.line <= lines + 1, "\(error)")
                #expect(!error.description.isEmpty)
            }
        }
    }

    @Test func mutatedScenariosNeverCrash() throws {
        let original = try String(contentsOf: repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json"), encoding: .utf8)
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<500 {
            let text = mutate(original, &generator)
            do {
                _ = try StudyFile.decode(text, file: "s.json")
            } catch {
                #expect(error.description.hasPrefix("s.json: "), "\(error)")
            }
        }
    }
}

import Foundation
