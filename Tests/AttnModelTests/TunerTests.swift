import AttnAlgorithms
import AttnHardware
import AttnModel
import AttnNumerics
import AttnPipeline
import TileInterpreter
import TileLanguage
import Testing
import Workload

/// The search spaces programs declare (`# @tune`) and the `Tuner` that searches them.
@Suite struct TunerTests {
    /// The space each built-in declares, group by group: the block sizes `attnsim tune`
    /// has always swept (Br, Bc 16-256, Bm 32-128, Bn 32-256, P 8-32, Dc 32-256 and split
    /// counts 0-128), for the parameters each program has, in its declaration order.
    static let blocks = [16, 32, 64, 128, 256], splits = [0, 1, 2, 4, 8, 16, 32, 64, 128]
    static let builtInSpaces: [(String, [(String, [Int])])] = [
        ("standard", [("Bm", [32, 64, 128]), ("Bn", [32, 64, 128, 256])]),
        ("flash1", [("Bc", blocks), ("Br", blocks)]),
        ("flash2", [("Br", blocks), ("Bc", blocks)]),
        ("flash2-gqa", [("Br", blocks), ("Bc", blocks), ("splits", splits)]),
        ("memory-efficient", [("Br", blocks), ("Bc", blocks)]),
        ("flash-decoding", [("Br", blocks), ("Bc", blocks), ("splits", splits)]),
        ("paged-decode", [("P", [8, 16, 32]), ("Br", blocks)]),
        ("standard-fwd-bwd", [("Bm", [32, 64, 128]), ("Bn", [32, 64, 128, 256])]),
        ("flash2-fwd-bwd", [("Br", blocks), ("Bc", blocks), ("Bm", [32, 64, 128]), ("Bn", [32, 64, 128, 256])]),
        ("selective-scan", [("Dc", [32, 64, 128, 256])]),
        ("selective-scan-naive", [("Dc", [32, 64, 128, 256])]),
        ("mla-decode-naive", [("Br", blocks), ("Bc", blocks)]),
        ("mla-decode-absorbed", [("Br", blocks), ("Bc", blocks), ("splits", splits)]),
        ("flash2-triton", [("Br", blocks), ("Bc", blocks)]),
        ("paged-decode-v2", [("P", [8, 16, 32]), ("Br", blocks), ("splits", splits)]),
        ("paged-decode-triton", [("P", [16, 32, 64, 128, 256]), ("S", [1, 2, 4, 8, 16, 32])]),
        ("memory-efficient-cutlass", [("Br", blocks), ("Bc", blocks)]),
        ("flash3", [("Br", blocks), ("Bc", blocks)]),
        ("flash3-fp8", [("Br", blocks), ("Bc", blocks)]),
        ("flash4", [("Br", [64, 128]), ("Bc", [32, 64, 128, 256]), ("cta_pair", [0, 1])]),
        ("sage3", [("Br", [64, 128, 256]), ("Bc", [32, 64, 128, 256])]),
        ("flash2-rope", [("Br", blocks), ("Bc", blocks)]),
        ("rope-prepass", [("Br", blocks), ("Bc", blocks)]),
        ("flash2-alibi", [("Br", blocks), ("Bc", blocks)]),
        ("flash2-softcap", [("Br", blocks), ("Bc", blocks)]),
        ("flash2-sinks", [("Br", blocks), ("Bc", blocks)]),
        ("linear-attention", []),
        ("linformer", [("Br", blocks), ("Bc", blocks)]),
        ("cascade", [("Bc", blocks)]),
        ("flash-decoding-quant", [("Br", blocks), ("Bc", blocks), ("splits", splits)]),
        ("paged-decode-quant", [("P", [8, 16, 32]), ("Br", blocks)]),
        ("quest", [("P", [8, 16, 32])]),
        ("moba", [("Bt", [64, 128, 256])]),
        ("dsa", [("Bc", [32, 64, 128])]),
        ("nsa", [("Bs", [16, 32, 64])]),
        ("lsh", [("Br", blocks)]),
        ("routing", [("Bw", [32, 64, 128, 256])]),
        ("mamba2-ssd", [("Q", [32, 64, 128])]),
        ("gated-deltanet", [("C", [32, 64, 128])]),
        ("tree-verify", []),
        ("vit-global", [("Br", blocks), ("Bc", blocks)]),
        ("swin-window", []),
        ("cross-attention", [("Br", blocks), ("Bc", blocks), ("splits", splits)]),
        ("flash2-prefix-lm", [("Br", [32, 64, 128]), ("Bc", [32, 64, 128])]),
    ]

    @Test func everyBuiltInDeclaresItsSpace() throws {
        #expect(Self.builtInSpaces.map(\.0) == AlgorithmLibrary.builtInNames)
        for (name, groups) in Self.builtInSpaces {
            let space = try SearchSpace(declaredBy: try AlgorithmLibrary.program(name))
            #expect(space.groups.map(\.parameters) == groups.map { [$0.0] }, "\(name)")
            #expect(space.groups.map { $0.lines.flatMap(\.tuples).map { $0[0] } } == groups.map(\.1), "\(name)")
            // The product, the first group varying slowest.
            let configurations = try space.configurations()
            #expect(configurations.count == groups.reduce(1) { $0 * $1.1.count }, "\(name)")
            if let first = groups.first, let last = groups.last, groups.count > 1 {
                #expect(configurations[0] == Dictionary(uniqueKeysWithValues: groups.map { ($0.0, $0.1[0]) }))
                #expect(configurations[1][last.0] == last.1[1] && configurations[1][first.0] == first.1[0], "\(name)")
            }
        }
    }

    /// gemm.tile's tilings by M (its conditions read the M the model sets): 128 x 128
    /// always; 128 x 256 and 256 x 128 from M = 256; 16-row tiles with split-K up to
    /// M = 16 and 64-row ones below 256; each with 8 and with 4 warps; from M = 256 each
    /// also with X multicast over clusters of 2 (MC).
    @Test(arguments: [
        (8, [[128, 128, 64, 1], [16, 64, 64, 1], [16, 64, 64, 2], [16, 64, 64, 4], [16, 64, 64, 8], [16, 64, 64, 16]]),
        (16, [[128, 128, 64, 1], [16, 64, 64, 1], [16, 64, 64, 2], [16, 64, 64, 4], [16, 64, 64, 8], [16, 64, 64, 16]]),
        (17, [[128, 128, 64, 1], [64, 64, 64, 1], [64, 64, 64, 2], [64, 64, 64, 4], [64, 64, 64, 8], [64, 64, 64, 16]]),
        (255, [[128, 128, 64, 1], [64, 64, 64, 1], [64, 64, 64, 2], [64, 64, 64, 4], [64, 64, 64, 8], [64, 64, 64, 16]]),
        (256, [[128, 128, 64, 1], [128, 256, 64, 1], [256, 128, 64, 1]]),
        (4096, [[128, 128, 64, 1], [128, 256, 64, 1], [256, 128, 64, 1]]),
    ])
    func gemmTilingsFollowM(_ m: Int, _ expected: [[Int]]) throws {
        let binding = ModelProgramLibrary.gemmBinding(GEMMShape(m: m, k: 4096, n: 4096))
        let configurations = try Tuner.configurations(try ModelProgramLibrary.gemm(), fixed: binding.parameters)
        // Each tiling with 8 and with 4 warps (NW), each of those from M = 256 with clusters
        // of 1 and of 2 CTAs (MC, the group declared last, varying fastest).
        let clusters = m >= 256 ? [1, 2] : [1]
        #expect(configurations.map { c in ["BM", "BN", "BK", "S", "NW", "MC"].map { c[$0] ?? -1 } }
            == expected.flatMap { tiling in [8, 4].flatMap { nw in clusters.map { tiling + [nw, $0] } } })
    }

    /// A compute-bound program whose matmul runs R times per block, N = 65,536 rows of
    /// d = 128 in 1,024 blocks of 64: matmul FLOPs R x 2 x 65,536 x 128 x 128 = R x
    /// 2,147,483,648. The space lists R = 64, 8, 32, 16; `require R <= 32` refuses 64;
    /// the others rank by their FLOPs, fewest first, whatever the order written.
    static let repeated = """
        param R = 1
        # @tune R: 64, 8, 32, 16
        require R <= 32, "R is at most 32"
        input A[N, d]
        input W[d, d]
        output O[N, d]
        kernel k grid(i: cdiv(N, 64)):
          a = load A[rows(i, 64), :] -> sram
          w = load W[:, :] -> sram
          acc = zeros(min(64, N - i * 64), d)
          for r in 0 ..< R:
            acc = acc + a @ w
          store O[rows(i, 64), :] = acc

        """

    @Test func rankingFollowsTheCountedWork() throws {
        let program = try Checker.check(SourceFile(name: "repeated.tile", text: Self.repeated))
        let tuner = Tuner(pipeline: Pipeline(hardware: try HardwareProfile.named("h100-sxm")))
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 65_536, keyLength: 65_536, headDim: 128)
        let search = try tuner.tune(program, shape: shape, dtype: .fp16)
        #expect(search.trials.map(\.label) == ["R=64", "R=8", "R=32", "R=16"])
        #expect(search.refused.map(\.label) == ["R=64"])
        #expect(search.overCapacity.isEmpty)
        for trial in search.trials {
            guard let prediction = trial.prediction, let r = trial.parameters["R"] else { continue }
            #expect(prediction.kernels.reduce(0) { $0 + $1.flopsMatmul } == r * 2_147_483_648, "\(trial.label)")
            #expect(prediction.kernels.map(\.blocks) == [1024])
        }
        #expect(search.ranked().map(\.label) == ["R=8", "R=16", "R=32"])
        // Another figure of merit: the slowest first.
        #expect(search.ranked(by: { -$0.seconds }).map(\.label) == ["R=32", "R=16", "R=8"])
        // Counting on all cores gives the same trials, in the same order.
        let concurrent = try tuner.tune(program, shape: shape, dtype: .fp16, concurrently: true)
        #expect(concurrent.trials.map(\.label) == search.trials.map(\.label))
        #expect(concurrent.trials.map(\.prediction) == search.trials.map(\.prediction))
    }

    /// flash4 declares its CTA pair tunable (`# @tune cta_pair: 0, 1`), and on the B200 the
    /// pair can win. BH 8, N = Nkv = 8,192, d 256, bf16: one CTA of Br 64 and Bc 256 holds
    /// Q 64 x 256 x 2 + K and V 256 x 256 x 2 each = 294,912 bytes of shared memory, over
    /// the B200's 232,448 per block (Br 128: 327,680, over too); a pair holds two SMs'
    /// 464,896, so its block of 2 x 64 query rows (327,680) fits: the only 256-key tiles
    /// that run. The search ranks it first, faster than every one-CTA configuration, and
    /// its label (what `attnsim tune` prints) names the pair. Every configuration does the
    /// same 4 N^2 d BH = 549,755,813,888 matmul FLOPs.
    @Test func flash4SearchesTheCTAPair() throws {
        let tuner = Tuner(pipeline: Pipeline(hardware: try HardwareProfile.named("b200")))
        let shape = ProblemShape(batch: 1, heads: 8, kvHeads: 8, queryLength: 8192, keyLength: 8192, headDim: 256)
        let search = try tuner.tune(try AlgorithmLibrary.program("flash4"), shape: shape, dtype: .bf16)
        #expect(search.trials.count == 16 && search.refused.isEmpty)
        #expect(search.overCapacity.map(\.label) == ["Bc=256 Br=64 cta_pair=0", "Bc=256 Br=128 cta_pair=0"])
        let needed = search.overCapacity.compactMap { $0.failure?.diagnostic?.message }
        #expect(needed.count == 2 && needed[0].contains("needs 294,912 bytes of shared memory") && needed[1].contains("needs 327,680 bytes"))
        let ranked = search.ranked()
        let best = try #require(ranked.first)
        #expect(best.label == "Bc=256 Br=64 cta_pair=1")
        #expect(best.parameters == ["Br": 64, "Bc": 256, "cta_pair": 1])
        let bestSeconds = try #require(best.prediction).seconds
        for trial in ranked.dropFirst() where trial.parameters["cta_pair"] == 0 {
            #expect(try #require(trial.prediction).seconds > bestSeconds, "\(trial.label)")
        }
        for trial in ranked {
            #expect(trial.prediction?.kernels.reduce(0) { $0 + $1.flopsMatmul } == 549_755_813_888, "\(trial.label)")
        }
    }

    /// A decode-sized GEMM (M = 8, Kin = 128, Nout = 256): the 16-row tilings split Kin =
    /// 128 in at most cdiv(128, 64) = 2, so S = 4, 8 and 16 are refused by the program.
    /// Every tiling that runs does 2 x 8 x 256 x 128 = 524,288 matmul FLOPs; its blocks
    /// are cdiv(8, BM) x cdiv(256, BN) x S, plus as many tiles again to sum the partials
    /// when S > 1: 1 x 2 x 1 = 2, 1 x 4 x 1 = 4 and 1 x 4 x 2 + 4 = 12.
    @Test func decodeGEMMRefusesSplitsPastItsSlices() throws {
        let shape = GEMMShape(m: 8, k: 128, n: 256)
        let binding = ModelProgramLibrary.gemmBinding(shape)
        let tuner = Tuner(pipeline: Pipeline(hardware: try HardwareProfile.named("h100-sxm")))
        let search = try tuner.tune(try ModelProgramLibrary.gemm(), shape: binding.shape, dtype: .fp16, fixed: binding.parameters)
        // Each tiling with 8 and with 4 warps (gemm.tile's NW, varying fastest).
        #expect(search.refused.map { $0.parameters["S"] ?? 0 } == [4, 4, 8, 8, 16, 16])
        let ran = search.trials.filter { $0.prediction != nil }
        #expect(ran.map(\.label) == [
            "BK=64 BM=128 BN=128 MC=1 NW=8 S=1", "BK=64 BM=128 BN=128 MC=1 NW=4 S=1", "BK=64 BM=16 BN=64 MC=1 NW=8 S=1",
            "BK=64 BM=16 BN=64 MC=1 NW=4 S=1", "BK=64 BM=16 BN=64 MC=1 NW=8 S=2", "BK=64 BM=16 BN=64 MC=1 NW=4 S=2",
        ])
        #expect(ran.map { $0.prediction?.kernels.reduce(0) { $0 + $1.flopsMatmul } } == Array(repeating: 524_288, count: 6))
        #expect(ran.map { $0.prediction?.kernels.reduce(0) { $0 + $1.blocks } } == [2, 2, 4, 4, 12, 12])
        #expect(shape.flops == 524_288)
    }

    /// A malformed declaration is a diagnostic at its line and column; a line that only
    /// starts like one (`# @tuned`) is a comment.
    @Test(arguments: [
        ("# @tune Bx: 1, 2", 1, 9, "unknown parameter 'Bx'; declared: R, S"),
        ("# @tune: R = 1", 1, 8, "expected a parameter name after @tune, found ':'"),
        ("# @tune d: 1", 1, 9, "'d' is a built-in parameter, set by the run; @tune names declared parameters"),
        ("# @tune R 1, 2", 1, 11, "expected ':' before the values, found '1'"),
        ("# @tune R: 1, x", 1, 15, "expected an integer, found 'x'"),
        ("# @tune R: 1 2", 1, 14, "expected ',' or the end of the line, found '2'"),
        ("# @tune R: 1; 2", 1, 13, "unexpected ';' in a @tune declaration"),
        ("# @tune R:", 1, 11, "expected an integer, found the end of the line"),
        ("# @tune R, S: (1, 2, 3)", 1, 23, "expected 2 values in each tuple (R, S), found 3"),
        ("# @tune R, S: 1", 1, 15, "expected a tuple of 2 values, (R, S), found '1'"),
        ("# @tune R, R: (1, 2)", 1, 12, "'R' is named twice"),
        ("# @tune R: 1\n  # @tune R, S: (1, 2)", 2, 11, "'R' is already tuned with R on line 3; a parameter belongs to one @tune group"),
        ("# @tune R if S => 2: 1", 1, 16, "expected one of < <= > >= == != after 'S'"),
        ("# @tune R if S > 2 and R < 3: 1", 1, 24, "the condition reads 'R', which is tuned; a condition reads a parameter the caller sets"),
        ("# @tune R if N > 2: 1", 1, 14, "the condition reads 'N', which is not a declared parameter; a condition reads a parameter the caller sets"),
    ])
    func malformedDeclarationsAreDiagnostics(_ line: String, _ row: Int, _ column: Int, _ message: String) throws {
        let program = try Checker.check(SourceFile(name: "t.tile", text: Self.small(line)))
        do {
            _ = try SearchSpace(declaredBy: program)
            Issue.record("no error for \(line)")
        } catch {
            #expect(error.message == message)
            #expect(error.location == SourceLocation(line: 2 + row, column: column), "\(line)")
            #expect(error.file == "t.tile")
        }
    }

    static func small(_ declarations: String) -> String {
        "param R = 1\nparam S = 1\n" + declarations + "\ninput X[N, d]\noutput O[N, d]\nkernel k grid(i: 1):\n  x = load X[0 ..< N, :] -> reg\n  store O[0 ..< N, :] = x\n"
    }

    /// Conditions, groups and comments: `# @tuned` is a comment; tuples of one group come
    /// from its lines whose condition holds on the fixed values, in order; a condition on a
    /// parameter the run does not set is a diagnostic.
    @Test func conditionsReadTheFixedParameters() throws {
        let declarations = "# @tuned R: 7\n# @tune R: 1, 2\n#@tune S if T >= 10: 5\n# @tune S if T < 10 and T != 3: 6, 7"
        let text = Self.small(declarations).replacingOccurrences(of: "param S = 1\n", with: "param S = 1\nparam T = 0\n")
        let space = try SearchSpace(declaredBy: try Checker.check(SourceFile(name: "t.tile", text: text)))
        #expect(space.parameters == ["R", "S"])
        #expect(try space.configurations(fixed: ["T": .int(10)]) == [["R": 1, "S": 5], ["R": 2, "S": 5]])
        #expect(try space.configurations(fixed: ["T": .int(4)]) == [["R": 1, "S": 6], ["R": 1, "S": 7], ["R": 2, "S": 6], ["R": 2, "S": 7]])
        #expect(try space.configurations(fixed: ["T": .int(3)]) == [])
        do {
            _ = try space.configurations()
            Issue.record("a condition on an unset parameter")
        } catch {
            #expect(error.message.hasPrefix("the @tune condition reads 'T', which this run does not set to an integer"))
            #expect(error.location.line == 6)
        }
    }
}

/// The shapes of operators that are not attention.
@Suite struct OperatorShapeTests {
    /// Y = X W: 2 m n k FLOPs, k n weights and m k + m n activations, at e bytes each.
    @Test(arguments: [
        (GEMMShape(m: 1, k: 4096, n: 4096), 33_554_432, 33_554_432, 16_384),
        (GEMMShape(m: 300, k: 200, n: 100), 12_000_000, 40_000, 180_000),
        (GEMMShape(m: 8192, k: 4096, n: 12_288), 824_633_720_832, 100_663_296, 268_435_456),
    ])
    func gemmCounts(_ shape: GEMMShape, _ flops: Int, _ weights: Int, _ activations: Int) {
        #expect(shape.flops == flops)
        #expect(shape.weightBytes(elementBytes: 2) == weights)
        #expect(shape.activationBytes(elementBytes: 2) == activations)
        #expect(!shape.isEmpty)
        #expect(GEMMShape(m: shape.m, k: 0, n: shape.n).isEmpty)
    }

    /// gemm.tile counts exactly 2 m n k matmul FLOPs on ragged shapes too, whichever
    /// tiling the model picks.
    @Test(arguments: [GEMMShape(m: 300, k: 200, n: 100), GEMMShape(m: 1, k: 4096, n: 4096), GEMMShape(m: 17, k: 100, n: 130)])
    func gemmProgramCountsTheShapesFLOPs(_ shape: GEMMShape) throws {
        let binding = ModelProgramLibrary.gemmBinding(shape)
        let tuner = Tuner(pipeline: Pipeline(hardware: try HardwareProfile.named("h100-sxm")))
        let search = try tuner.tune(try ModelProgramLibrary.gemm(), shape: binding.shape, dtype: .fp16, fixed: binding.parameters)
        let best = try #require(search.ranked().first?.prediction)
        #expect(best.kernels.reduce(0) { $0 + $1.flopsMatmul } == shape.flops)
    }

    /// RMSNorm: 4 FLOPs and 1 parameter per element; LayerNorm: 7 and 2.
    @Test func normCounts() {
        let rms = NormShape(rows: 3, width: 4096, kind: .rmsnorm), layer = NormShape(rows: 3, width: 4096, kind: .layernorm)
        #expect((rms.elements, rms.flops, rms.parameters) == (12_288, 49_152, 4096))
        #expect((layer.elements, layer.flops, layer.parameters) == (12_288, 86_016, 8192))
    }

    @Test func collectiveNamesItsKind() {
        let c = CollectiveShape(.allReduce, bytes: 1 << 20, gpus: 8)
        #expect(c.kind.rawValue == "all_reduce" && c.bytes == 1_048_576 && c.gpus == 8)
    }
}
