@testable import AttnCLI
import AttnHardware
import AttnJSON
@testable import AttnModel
import AttnNumerics
import AttnScenario
import Foundation
import Testing
import TileInterpreter
import Workload
import AttnTestSupport
import TileTestSupport

/// Speculative decoding (`attnsim model --speculative`): expected tokens per step by hand,
/// the verify step's GEMM FLOPs and attention bytes in closed form, TPOT assembled from the
/// predictor's own steps, the batch crossover, the option and the scenario object
/// (docs/model.md, "Speculative decoding").
@Suite struct SpeculativeDecodingTests {
    func architecture(_ name: String) throws -> Architecture { try Architecture(model: try ModelSpec.named(name)) }

    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    // MARK: Expected tokens

    /// By hand, E = 1 + sum over draft nodes of the product of p(d, r) = a_d (1 - a_d)^r
    /// down their path:
    /// - chain, a = 0.8, k = 4: 1 + 0.8 + 0.64 + 0.512 + 0.4096 = 3.3616 = (1 - 0.8^5) / 0.2;
    /// - width 2, 2 drafts, a = 0.5: the root's two children, 0.5 and 0.5 x 0.5: 1.75;
    /// - width 2, 6 drafts (two full levels), a = 0.5: level 1 0.5 + 0.25 = 0.75, level 2
    ///   0.75 x 0.75 = 0.5625: 2.3125;
    /// - chain, a = 0.8 then 0.5, k = 3: 1 + 0.8 + 0.4 + 0.2 = 2.4;
    /// - chain, a = 0: only the target's token, 1;
    /// - width 3, 3 drafts, a = 0.6: the root's children 0.6, 0.6 x 0.4, 0.6 x 0.4^2: 1.936.
    @Test(arguments: [
        (4, 1, [0.8], 3.3616), (2, 2, [0.5], 1.75), (6, 2, [0.5], 2.3125), (3, 1, [0.8, 0.5], 2.4), (5, 1, [0.0], 1.0),
        (3, 3, [0.6], 1.936),
    ])
    func expectedTokensByHand(_ drafts: Int, _ width: Int, _ acceptance: [Double], _ expected: Double) throws {
        let s = try SpeculativeDecoding(drafter: .medusa, drafts: drafts, width: width, acceptance: acceptance)
        #expect(abs(s.expectedTokens - expected) < 1e-12, "\(drafts) drafts, width \(width): \(s.expectedTokens)")
    }

    /// Leviathan et al.'s closed form (1 - a^(k+1)) / (1 - a) for chains of 1 to 8 drafts.
    @Test func chainMatchesLeviathan() throws {
        for k in 1...8 {
            for a in [0.3, 0.6, 0.9] {
                let s = try SpeculativeDecoding(drafter: .eagle, drafts: k, acceptance: [a])
                #expect(abs(s.expectedTokens - (1 - pow(a, Double(k + 1))) / (1 - a)) < 1e-12)
            }
        }
    }

    /// Tree shape: width 4 with 24 drafts has 4 nodes at depth 1, 16 at depth 2 and 4 at
    /// depth 3 (nodes 21-24, the children of node 5); a chain of k is k levels of one.
    @Test func levels() throws {
        let tree = try SpeculativeDecoding(drafter: .eagle, drafts: 24, width: 4, acceptance: [0.5])
        #expect(tree.levels == [4, 16, 4] && tree.depth == 3 && tree.verifyTokens == 25)
        let chain = try SpeculativeDecoding(drafter: .eagle, drafts: 5, acceptance: [0.5])
        #expect(chain.levels == [1, 1, 1, 1, 1] && chain.depth == 5)
    }

    @Test func refusesBadSetups() {
        #expect(throws: SpeculativeDecodingError.drafts(0)) { try SpeculativeDecoding(drafter: .eagle, drafts: 0, acceptance: [0.5]) }
        #expect(throws: SpeculativeDecodingError.width(0)) { try SpeculativeDecoding(drafter: .eagle, drafts: 2, width: 0, acceptance: [0.5]) }
        #expect(throws: SpeculativeDecodingError.acceptance(1)) { try SpeculativeDecoding(drafter: .eagle, drafts: 2, acceptance: [0.5, 1]) }
        #expect(throws: SpeculativeDecodingError.noAcceptance) { try SpeculativeDecoding(drafter: .eagle, drafts: 2, acceptance: []) }
    }

    // MARK: The verify step

    /// tree-verify.tile with its prefix split over S blocks (`splits`, as Flash-Decoding):
    /// numerics against float64 tree attention at fp32 and fp16 (the derived tolerances),
    /// counts equal in count mode, and the counts in closed form per batch and KV head:
    /// every split block reads Q (S g N d e), the cache is still read once per draft block
    /// (2 T P d e), the last split reads the draft keys (2 d e sum_i K_i); the S partials
    /// and log-sum-exps, g N S (d + 1) x 4 bytes, are written and read back by the combine
    /// kernel, which writes O (g N d e). splits = 0 takes FlashAttention-2's heuristic.
    @Test(arguments: [(700, 13, 4, 64, 3), (700, 13, 4, 64, 7), (300, 45, 16, 32, 2), (129, 9, 4, 128, 2)])
    func splitPrefix(_ nkv: Int, _ drafts: Int, _ bt: Int, _ bc: Int, _ splits: Int) throws {
        typealias S = TestSupport
        let batch = 1, heads = 8, kvHeads = 2, d = 32, g = heads / kvHeads
        let shape = S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: drafts, nkv: nkv, d: d)
        let params = ["width": 2, "Bt": bt, "Bc": bc, "splits": splits]
        for dtype in [DType.fp32, .fp16] {
            let bound = try S.bind("tree-verify", shape, dtype: dtype, params: params)
            let result = try S.numeric(bound)
            #expect(try S.count(bound) == result.stats)
        }
        let e = 2, p = nkv - drafts, blocks = S.cdiv(drafts, bt), bkv = batch * kvHeads
        let seen = (0..<blocks).reduce(0) { $0 + min(drafts, ($1 + 1) * bt) }
        let partials = g * drafts * splits * (d + 1) * 4
        let total = try S.count(try S.bind("tree-verify", shape, dtype: .fp16, params: params)).total
        #expect(total.hbmReadBytes == bkv * (splits * g * drafts * d * e + 2 * blocks * p * d * e + 2 * d * e * seen + partials))
        #expect(total.hbmWriteBytes == bkv * (g * drafts * d * e + partials))
    }

    /// Llama-2-7B verifying k + 1 = 5 tokens at batch 2: the GEMMs (QKV, O, FFN, LM head)
    /// hold every parameter but the embedding and the norms, 6,738,415,616 - 131,072,000 -
    /// 266,240 = 6,607,077,376, and multiply them by all 10 tokens (the LM head too: every
    /// verified token gets logits): 2 x 6,607,077,376 x 10 matrix FLOPs, plus gemm.tile's
    /// accumulation adds (one per output element per 64-deep slice, BK = 64: 1/128 of the
    /// matrix FLOPs, and split-K's partial sums), under 1/64 more. Attention is tree-verify,
    /// its KV read b x keys x 2 x 32 x 128 x 2 bytes per layer at 4,096 + 4 keys.
    @Test func verifyStepInClosedForm() throws {
        var predictor = try ModelPredictor(
            architecture: try architecture("llama-2-7b"), hardware: try HardwareProfile.named("h100-sxm"), options: ModelRunOptions(batch: 2))
        let step = try predictor.verifyStep(context: 4_100, tokens: 5, width: 1)
        let gemms = step.operators.filter { $0.kernel == "gemm" }
        #expect(gemms.reduce(0) { $0 + $1.repeats * $1.weightBytes } == 2 * 6_607_077_376)
        let matrix = 2 * 6_607_077_376 * 10
        let flops = gemms.reduce(0) { $0 + $1.repeats * $1.flops }
        #expect(flops >= matrix && flops - matrix <= matrix / 64, "\(flops)")
        let attention = try #require(step.operators.first { $0.name == "attention" })
        #expect(attention.kernel == "tree-verify" && attention.repeats == 32)
        #expect(attention.kvBytes == 2 * 4_100 * 2 * 32 * 128 * 2)
        let lmHead = try #require(step.operators.first { $0.name == "lm_head" })
        // 10 rows of logits: 2 x 10 x 4096 x 32000, plus the accumulation adds.
        let logits = 2 * 10 * 4096 * 32_000
        #expect(lmHead.flops >= logits && lmHead.flops - logits <= logits / 64)
    }

    /// TPOT is assembled from the predictor's own steps: (k draft decode steps + the
    /// verify step) / E, each step equal to what a fresh predictor gives for it.
    @Test func tpotFromThePredictorsSteps() throws {
        let hardware = try HardwareProfile.named("h100-sxm")
        let target = try architecture("llama-2-13b"), draft = try architecture("llama-2-7b")
        let options = ModelRunOptions(batch: 4)
        let s = try SpeculativeDecoding(drafter: .model(draft), drafts: 4, acceptance: [0.8])
        var study = try SpeculativeStudy(architecture: target, hardware: hardware, options: options, speculation: s)
        let x = try study.summary(context: 2048)
        var drafter = try ModelPredictor(architecture: draft, hardware: hardware, options: options)
        var verifier = try ModelPredictor(architecture: target, hardware: hardware, options: options)
        let draftStep = try drafter.step(.decode, context: 2048).seconds
        let verify = try verifier.verifyStep(context: 2052, tokens: 5, width: 1).seconds
        let plain = try verifier.step(.decode, context: 2048).seconds
        #expect(x.draftSteps.count == 4 && x.draftSteps.allSatisfy { $0.seconds == draftStep })
        #expect(x.verifySeconds == verify && x.plainTPOTSeconds == plain)
        #expect(abs(x.expectedTokens - 3.3616) < 1e-12)
        #expect(x.tpotSeconds == (draftStep + draftStep + draftStep + draftStep + verify) / x.expectedTokens)
        #expect(x.speedup == plain / x.tpotSeconds)
        #expect(x.tokensPerSecond == 4 * x.expectedTokens / (4 * draftStep + verify))
        // The draft model's weights: Llama-2-7B's 6,738,415,616 parameters in fp16.
        #expect(x.draftWeightBytes == 2 * 6_738_415_616)
    }

    /// EAGLE: per depth one pass of the one-layer head over the level above (1, then 4
    /// nodes, then 16 for a width-4 tree of 24) with its FC (2h -> h); Medusa: one pass of
    /// its 3 heads, each an h x h and an h x V GEMM over the batch's last tokens.
    @Test func drafterPasses() throws {
        let hardware = try HardwareProfile.named("h100-sxm")
        let target = try architecture("llama-3-8b")
        let h = 4096, v = 128_256
        let eagle = try SpeculativeDecoding(drafter: .eagle, drafts: 24, width: 4, acceptance: [0.8])
        var study = try SpeculativeStudy(architecture: target, hardware: hardware, options: ModelRunOptions(batch: 2), speculation: eagle)
        let x = try study.summary(context: 1024)
        #expect(x.draftSteps.count == 3)
        for (step, frontier) in zip(x.draftSteps, [1, 4, 16]) {
            let fc = try #require(step.operators.first { $0.name == "eagle_fc" })
            // 2 x rows x 2h x h, plus the accumulation adds (under 1/64 more).
            let matrix = 2 * (2 * frontier) * (2 * h) * h
            #expect(fc.flops >= matrix && fc.flops - matrix <= matrix / 64, "\(fc.flops)")
            #expect(step.operators.filter { $0.name == "attention" }.map(\.repeats) == [1])
        }
        let medusa = try SpeculativeDecoding(drafter: .medusa, drafts: 14, width: 2, acceptance: [0.6])
        var heads = try SpeculativeStudy(architecture: target, hardware: hardware, options: ModelRunOptions(batch: 2), speculation: medusa)
        let m = try heads.summary(context: 1024)
        #expect(medusa.depth == 3 && m.draftSteps.count == 1)
        let ops = try #require(m.draftSteps.first).operators
        #expect(ops.map(\.name) == ["medusa_fc", "medusa_act", "medusa_lm_head"] && ops.allSatisfy { $0.repeats == 3 })
        #expect(ops[0].weightBytes == h * h * 2 && ops[2].weightBytes == h * v * 2)
        #expect(ops[0].flops >= 2 * 2 * h * h && ops[2].flops >= 2 * 2 * h * v)
        #expect(m.draftWeightBytes == 3 * (h * h + h + h * v) * 2)
    }

    /// The batch crossover: speculation pays below it and not at it (each side predicted
    /// afresh). EAGLE's tree of 24 (width 4) on Llama-3-8B at 1k: the verify step's 25
    /// tokens per sequence make its GEMMs compute-bound at a small batch.
    @Test func batchCrossover() throws {
        let hardware = try HardwareProfile.named("h100-sxm")
        let target = try architecture("llama-3-8b")
        let s = try SpeculativeDecoding(drafter: .eagle, drafts: 24, width: 4, acceptance: [0.8, 0.7, 0.6])
        let crossover = try #require(try SpeculativeStudy.batchCrossover(
            architecture: target, hardware: hardware, options: ModelRunOptions(), speculation: s, context: 1024))
        #expect(crossover > 1)
        func speedup(_ batch: Int) throws -> Double {
            var study = try SpeculativeStudy(architecture: target, hardware: hardware, options: ModelRunOptions(batch: batch), speculation: s)
            return try study.summary(context: 1024).speedup
        }
        #expect(try speedup(crossover - 1) > 1)
        #expect(try speedup(crossover) <= 1)
    }

    @Test func refusesModelsItCannotVerify() throws {
        let hardware = try HardwareProfile.named("h100-sxm")
        let s = try SpeculativeDecoding(drafter: .eagle, drafts: 4, acceptance: [0.7])
        #expect(throws: ModelShapeError.self) { try SpeculativeStudy(architecture: try architecture("deepseek-v2-lite"), hardware: hardware, options: ModelRunOptions(), speculation: s) }
        #expect(throws: ModelShapeError.self) { try SpeculativeStudy(architecture: try architecture("jamba-v0.1"), hardware: hardware, options: ModelRunOptions(), speculation: s) }
        // A draft model with another vocabulary (Llama-2's 32,000 against Llama-3's 128,256).
        let other = try SpeculativeDecoding(drafter: .model(try architecture("llama-2-7b")), drafts: 4, acceptance: [0.7])
        #expect(throws: ModelShapeError.self) { try SpeculativeStudy(architecture: try architecture("llama-3-70b"), hardware: hardware, options: ModelRunOptions(), speculation: other) }
    }

    // MARK: The command and scenario files

    /// The option's forms and its errors (exit 64, naming the option).
    @Test func commandLine() throws {
        let ok = run(["model", "--model", "llama-2-13b", "--context", "1k", "--speculative", "draft=llama-2-7b,k=4,accept=0.8", "--format", "json"])
        #expect(ok.code == 0, "\(ok.err)")
        let records = try JSONParser.parse(ok.out, file: "stdout")
        guard case .array(let rows) = records, case .object(let fields)? = rows.first else { Issue.record("not an array of objects"); return }
        let values = Dictionary(fields.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(values["drafter"] == .string("llama-2-7b") && values["drafts"] == .integer(4) && values["width"] == .integer(1))
        if case .number(let e)? = values["expected_tokens"] { #expect(abs(e - 3.3616) < 1e-12) } else { Issue.record("expected_tokens") }
        for (spec, message) in [
            ("k=4,accept=0.8", "needs a drafter"),
            ("eagle,k=4", "needs accept=RATE"),
            ("eagle,accept=0.8", "needs exactly one of k, tree and depth"),
            ("eagle,k=4,tree=8,accept=0.8", "needs exactly one of k, tree and depth, found k and tree"),
            ("eagle,k=4,accept=1.2", "'accept' expects rates in [0, 1)"),
            ("eagle,k=0,accept=0.5", "'k' expects a whole number from 1 to 1024"),
            ("eagle,k=4,width=2,accept=0.5", "'k' is a chain"),
            ("eagle,medusa,k=4,accept=0.5", "names its drafter more than once"),
            ("eagle,depth=11,width=2,accept=0.5", "more than 1024 drafts"),
            ("eagle,k=4,accept=0.5,colour=red", "knows draft, k, tree, depth, width, accept and dtype, found 'colour'"),
            ("eagle,k=4,accept=0.5,dtype=fp9", "'dtype' (the drafter's format) expects fp32, fp16, bf16, fp8"),
            ("eagle,k=4,accept=0.5,dtype=", "expects eagle, medusa or KEY=VALUE items, found 'dtype='"),
            ("eagle,k=4,accept=0.5,dtype=nvfp4", "the drafter's dtype=nvfp4 multiplies nvfp4 inputs, and h100-sxm has no fp4e2m1 tensor-core rate"),
            ("draft=nope,k=4,accept=0.5", "nope"),
        ] {
            let r = run(["model", "--model", "llama-2-13b", "--context", "1k", "--speculative", spec])
            #expect(r.code == 64 && r.err.contains(message), "\(spec): \(r.err)")
        }
        // The verify program reads FP4 caches too: the verify pass's attention is tree-verify-quant.
        for kv in ["nvfp4", "mxfp4"] {
            let fp4 = run(["model", "--model", "llama-2-13b", "--context", "1k", "--kv", kv, "--speculative", "eagle,k=4,accept=0.5", "--view", "operators", "--format", "csv"])
            #expect(fp4.code == 0, "\(kv): \(fp4.err)")
            #expect(fp4.out.split(separator: "\n").contains { $0.hasPrefix("verify,") && $0.contains(",attention,attention,tree-verify-quant,") }, "\(kv)")
        }
        let csv = run(["model", "--model", "llama-2-13b", "--context", "1k", "--speculative", "eagle,k=3,accept=0.8/0.5", "--format", "csv"])
        let lines = csv.out.split(separator: "\n")
        #expect(csv.code == 0 && lines.count == 2 && lines[0].hasPrefix("model,hardware,dtype,batch,tp,cp,context,drafter,draft_dtype,drafts,width,depth,acceptance,expected_tokens,"))
        // 1 + 0.8 + 0.4 + 0.2 tokens per step; the drafter in the target's precision (no draft_dtype).
        #expect(lines[1].hasPrefix("llama-2-13b,h100-sxm,fp16,1,1,1,1024,eagle,,3,1,3,0.8/0.5,2.4"))
        // The drafter in its own format: the header names it, the records carry it, and
        // the option's text reads back to the same request.
        let own = run(["model", "--model", "llama-2-13b", "--context", "1k", "--speculative", "draft=llama-2-7b,dtype=fp8,k=4,accept=0.8"])
        #expect(own.code == 0 && own.out.contains("speculative: llama-2-7b in fp8e4m3 drafts a chain of 4 per step"), "\(own.err)")
        let ownCSV = run(["model", "--model", "llama-2-13b", "--context", "1k", "--speculative", "draft=llama-2-7b,dtype=fp8,k=4,accept=0.8", "--format", "csv"])
        #expect(ownCSV.out.split(separator: "\n").last?.hasPrefix("llama-2-13b,h100-sxm,fp16,1,1,1,1024,llama-2-7b,fp8e4m3,4,") == true, "\(ownCSV.out)")
        let request = try SpeculativeOption.parse("draft=llama-2-7b,dtype=int4-g64,k=4,accept=0.8")
        #expect(request.draftFormat == TensorFormat(name: "int4-g64") && request.draftFormat != nil)
        #expect(try SpeculativeOption.parse(SpeculativeOption.text(request)) == request)
        let view = run(["model", "--model", "llama-2-13b", "--context", "1k", "--view", "parameters", "--speculative", "eagle,k=4,accept=0.5"])
        #expect(view.code == 64 && view.err.contains("summary and operators views"))
        // The operators view: each pass of the step, its phase column naming it.
        let ops = run(["model", "--model", "llama-2-13b", "--context", "1k", "--view", "operators", "--speculative", "draft=llama-2-7b,k=2,accept=0.5", "--format", "csv"])
        #expect(ops.code == 0, "\(ops.err)")
        let cells: [[String]] = ops.out.split(separator: "\n").dropFirst().map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        var passes: [String] = []
        for row in cells where passes.last != row[0] { passes.append(row[0]) }
        #expect(passes == ["draft 1", "draft 2", "verify", "plain"])
        let verifyAttention = cells.contains { row in row[0] == "verify" && row[3] == "attention" && row[5] == "tree-verify" }
        let plainAttention = cells.contains { row in row[0] == "plain" && row[3] == "attention" && row[5] == "flash-decoding" }
        #expect(verifyAttention && plainAttention)
    }

    /// A model study's "speculative" object runs as the option does; a bad rate names its path.
    @Test func scenarioObject() throws {
        let text = """
            {"version": 1, "study": "model", "model": "llama-2-13b", "contexts": [1024],
             "speculative": {"drafter": "medusa", "drafts": 6, "width": 2, "accept": [0.6, 0.5]}}
            """
        guard case .model(let study, _) = try StudyFile.decode(text, file: "s.json") else { Issue.record("not a model study"); return }
        #expect(study.speculative == SpeculativeRequest(drafter: .medusa, drafts: 6, width: 2, acceptance: [0.6, 0.5]))
        // The drafter's own format, and a format that is none.
        let own = text.replacingOccurrences(of: "\"width\": 2,", with: "\"width\": 2, \"dtype\": \"fp8\",")
        guard case .model(let ownStudy, _) = try StudyFile.decode(own, file: "s.json") else { Issue.record("not a model study"); return }
        #expect(ownStudy.speculative?.draftFormat == .fp8(.e4m3))
        do {
            _ = try StudyFile.decode(own.replacingOccurrences(of: "\"fp8\"", with: "\"fp9\""), file: "s.json")
            Issue.record("a drafter dtype of fp9 was accepted")
        } catch {
            #expect(error.path == "speculative.dtype" && error.message.contains("expected the drafter's format") && error.message.contains("\"fp9\""))
        }
        let bad = text.replacingOccurrences(of: "[0.6, 0.5]", with: "[0.6, 1.5]")
        do {
            _ = try StudyFile.decode(bad, file: "s.json")
            Issue.record("an acceptance rate of 1.5 was accepted")
        } catch {
            #expect(error.path == "speculative.accept[1]" && error.message.contains("[0, 1)"))
        }
    }
}
