import AttnHardware
import AttnNumerics
import CostModel
import Workload

/// The operators of one forward pass as they are listed, and the largest input + output
/// bytes of any one of them.
struct ForwardPass {
    let load: ForwardLoad
    /// Tokens the linear layers process (every chunk's tokens and one per decoding sequence).
    let tokens: Int
    /// Sequences in the pass (each gets one row of logits).
    let sequences: Int
    var operators: [ModelOperator] = []
    var peakActivationBytes = 0

    mutating func add(_ op: ModelOperator) {
        operators.append(op)
        peakActivationBytes = max(peakActivationBytes, op.activationBytes)
    }
}

/// The layers an operator runs in: their label (`0-31`) and how many there are.
struct LayerSite {
    let label: String
    let layers: Int
}

extension ModelPredictor {
    /// The operators of a forward pass over `load` (per GPU) and its peak activation bytes
    /// (the largest operator's input and output, plus the fp32 logits): the embedding,
    /// then per group of alike layers its norms, mixer (attention, MLA or SSM), residual,
    /// FFN (dense or experts) and residual, then the final norm and the LM head.
    mutating func forward(_ load: ForwardLoad) throws(ModelShapeError) -> ([ModelOperator], Int) {
        let tokens = try load.tokens()
        let sequences = load.sequences
        guard tokens > 0, sequences > 0 else { throw ModelShapeError("a forward pass needs at least one token") }
        try checkSize(tokens: tokens, sequences: sequences, context: load.longestContext)
        if !load.verify.isEmpty { try checkVerifiable() }
        var pass = ForwardPass(load: load, tokens: tokens, sequences: sequences)
        let h = local.hiddenSize
        let d = local.decoder
        let model = LayerSite(label: "model", layers: 1)
        // The embedding gathers one row per token (plus a learned position row).
        let positionRead = d.positions == .learned ? tokens * h * e : 0
        stream("embedding", model, 1, .other, read: tokens * h * e + positionRead, write: tokens * h * e,
               flops: d.positions == .learned ? tokens * h : 0, into: &pass)
        for group in local.layerGroups {
            try layer(group.shape, LayerSite(label: Architecture.formatIndices(group.indices), layers: group.indices.count), into: &pass)
        }
        if d.finalNorm {
            norm("final_norm", model, 1, NormShape(rows: tokens, width: h, kind: d.norm), into: &pass)
        }
        // Logits for the last position of each sequence only (every token of a verify step).
        let logitRows = load.logitRows
        try gemm("lm_head", model, 1, .other, GEMMShape(m: logitRows, k: h, n: d.vocabSize), role: .unquantized, into: &pass)
        return (pass.operators, pass.peakActivationBytes + logitRows * local.decoder.vocabSize * 4)
    }

    /// One group of alike layers: norms, the mixer, a residual add, the FFN, its all-reduce
    /// and a residual add.
    private mutating func layer(_ shape: LayerShape, _ site: LayerSite, into pass: inout ForwardPass) throws(ModelShapeError) {
        let tokens = pass.tokens, h = local.hiddenSize, n = site.layers
        let d = local.decoder
        if d.normsPerLayer > 0 {
            norm("norm", site, n * d.normsPerLayer, NormShape(rows: tokens, width: h, kind: d.norm), into: &pass)
        }
        switch shape.mixer {
        case .attention(let heads, _) where local.mla != nil:
            guard let mla = local.mla else { break }
            try latentAttention(mla, heads: heads, site, into: &pass)
        case .attention(let heads, let kvHeads):
            try attention(heads: heads, kvHeads: kvHeads, shape, site, into: &pass)
        case .ssm:
            try stateSpaceMixer(site, into: &pass)
        case .deltanet:
            try gatedDeltaNet(site, into: &pass)
        }
        stream("residual", site, n, .other, read: 2 * tokens * h * e, write: tokens * h * e, flops: tokens * h, into: &pass)
        try feedForward(shape.ffn, site, into: &pass)
        allReduce("all_reduce", site, n, into: &pass)
        stream("residual", site, n, .other, read: 2 * tokens * h * e, write: tokens * h * e, flops: tokens * h, into: &pass)
    }

    /// Attention with its own query and KV heads (MHA, GQA, MQA): the QKV projection (with
    /// an output gate's half, Qwen3-Next), per-head query and key norms (Qwen3, Gemma 3),
    /// RoPE (not in NoPE layers), the KV append, one attention call per group of alike
    /// sequences (flash2 for prompts, flash-decoding for decode steps, ring attention under
    /// `--cp`; a chunked layer runs each chunk's causal block), the output gate, the O
    /// projection and its all-reduce. gpt-oss's sink logits add one term per row to the
    /// softmax's denominator: not counted.
    private mutating func attention(heads: Int, kvHeads: Int, _ shape: LayerShape, _ site: LayerSite, into pass: inout ForwardPass) throws(ModelShapeError) {
        let tokens = pass.tokens, h = local.hiddenSize, dh = local.headDim, n = site.layers
        let cp = options.contextParallel
        let window = shape.window
        let gated = local.decoder.attentionOutputGate
        try gemm("qkv_proj", site, n, .attention, GEMMShape(m: tokens, k: h, n: (heads + 2 * kvHeads + (gated ? heads : 0)) * dh), into: &pass)
        if local.decoder.qkNorm {
            norm("qk_norm", site, n, NormShape(rows: tokens * (heads + kvHeads), width: dh, kind: .rmsnorm), category: .attention, into: &pass)
        }
        if local.decoder.positions == .rope && shape.rope {
            let elements = tokens * (heads + kvHeads) * dh
            stream("rope", site, n, .attention, read: elements * e, write: elements * e, flops: 3 * elements, into: &pass)
        }
        let kvElements = tokens * 2 * kvHeads * dh
        stream("kv_append", site, n, .attention, read: kvElements * e, write: 0, flops: 0, kv: tokens * 2 * kvHeads * kvVectorBytes(dh), into: &pass)
        for job in pass.load.attentionJobs {
            let (b, keys) = (job.sequences, job.keys)
            let cached = min(keys, window ?? keys)
            let kvRead = b * cached * 2 * kvHeads * kvVectorBytes(dh)
            let qo = 2 * b * job.queries * heads * dh * e
            if let chunk = shape.chunk {
                guard cp == 1 else { throw ModelShapeError(advice: "context parallelism (ring attention) over chunked attention layers is not modelled; use \(Remedy.contextParallel(1))") }
                try chunkedAttention(chunk: chunk, job: job, heads: heads, kvHeads: kvHeads, site, into: &pass)
            } else if cp > 1, let link = interconnect {
                // Ring attention: the GPU with the last chunk computes its causal diagonal
                // block, then G - 1 full blocks as K/V chunks arrive; each transfer overlaps
                // the previous block's compute.
                let chunk = job.queries
                let diagonal = try attentionRun(
                    phase: .prefill, batch: b, heads: heads, kvHeads: kvHeads, queries: chunk, keys: chunk, causal: true, window: window)
                let full = try attentionRun(phase: .prefill, batch: b, heads: heads, kvHeads: kvHeads, queries: chunk, keys: chunk, causal: false)
                let blockBytes = Self.ringBlockBytes(batch: b, chunk: chunk, kvHeads: kvHeads, headDim: dh, elementBytes: e)
                let transfer = costModel.send(bytes: blockBytes, over: link)
                let steps = cp - 1
                pass.add(ModelOperator(
                    name: "attention", layers: site.label, repeats: n, category: .attention, kernel: "\(prefillKernel) (ring)",
                    flops: diagonal.flops + steps * full.flops, weightBytes: 0, activationBytes: qo, kvBytes: kvRead, linkBytes: 0,
                    dramBytes: diagonal.dramBytes + steps * full.dramBytes, bound: full.bound, seconds: diagonal.seconds + Double(steps) * full.seconds))
                self.link("ring_kv", site, n, CollectiveShape(.send, bytes: steps * blockBytes, gpus: cp),
                          seconds: Double(steps) * max(0, transfer.seconds - full.seconds), choice: transfer, into: &pass)
            } else {
                let phase: ModelPhase = job.decode ? .decode : .prefill
                let r = try attentionRun(phase: phase, batch: b, heads: heads, kvHeads: kvHeads, queries: job.queries, keys: keys, causal: true, window: window)
                pass.add(attentionOperator(site, kernel: job.decode ? decodeKernel : prefillKernel, r, activation: qo, kv: kvRead))
            }
        }
        for step in pass.load.verify {
            // The draft tree over the cached prefix (a window's last W tokens and the tree).
            let (b, keys) = (step.sequences, min(step.context, window.map { $0 + step.tokens } ?? step.context))
            let r = try treeVerifyRun(batch: b, heads: heads, kvHeads: kvHeads, tokens: step.tokens, keys: keys, width: step.width)
            pass.add(attentionOperator(
                site, kernel: kvQuantParameters == nil ? "tree-verify" : "tree-verify-quant", r, activation: 2 * b * step.tokens * heads * dh * e, kv: b * keys * 2 * kvHeads * kvVectorBytes(dh)))
        }
        if gated {
            // sigmoid(gate) x output: read both, write the product; the sigmoid's exp on the SFU.
            let elements = tokens * heads * dh
            stream("attn_gate", site, n, .attention, read: 2 * elements * e, write: elements * e, flops: 4 * elements, special: elements, into: &pass)
        }
        try gemm("o_proj", site, n, .attention, GEMMShape(m: tokens, k: heads * dh, n: h), into: &pass)
        allReduce("all_reduce", site, n, into: &pass)
    }

    /// Chunked local attention (Llama 4): the query at position p sees keys C floor(p / C)
    /// ... p, so a prompt's queries at positions keys - queries ... keys - 1 split at the
    /// chunk boundaries into causal blocks, each over its chunk's keys up to its last query:
    /// a first partial chunk, whole chunks (one flash2 call with the batch times their
    /// number) and a last partial chunk. A decode step's query sees ((keys - 1) mod C) + 1 keys.
    private mutating func chunkedAttention(
        chunk c: Int, job: (decode: Bool, queries: Int, keys: Int, sequences: Int), heads: Int, kvHeads: Int, _ site: LayerSite,
        into pass: inout ForwardPass
    ) throws(ModelShapeError) {
        let b = job.sequences, dh = local.headDim
        let qo = 2 * b * job.queries * heads * dh * e
        if job.decode {
            let keys = ModelSpec.AttentionSpan.chunkTokens(context: job.keys, chunk: c)
            let r = try attentionRun(phase: .decode, batch: b, heads: heads, kvHeads: kvHeads, queries: 1, keys: keys, causal: true)
            pass.add(attentionOperator(site, kernel: decodeKernel, r, activation: qo, kv: b * keys * 2 * kvHeads * kvVectorBytes(dh)))
            return
        }
        // Queries at positions first ... last; chunks firstChunk ... lastChunk.
        let first = job.keys - job.queries, last = job.keys - 1
        let firstChunk = first / c, lastChunk = last / c
        var pieces: [(count: Int, queries: Int, keys: Int)] = []
        func add(_ count: Int, _ queries: Int, _ keys: Int) {
            guard count > 0, queries > 0 else { return }
            if let at = pieces.firstIndex(where: { $0.queries == queries && $0.keys == keys }) { pieces[at].count += count } else { pieces.append((count, queries, keys)) }
        }
        if firstChunk == lastChunk {
            add(1, job.queries, job.keys - firstChunk * c)
        } else {
            add(1, (firstChunk + 1) * c - first, c)
            add(lastChunk - firstChunk - 1, c, c)
            add(1, job.keys - lastChunk * c, job.keys - lastChunk * c)
        }
        var flops = 0, dram = 0, seconds = 0.0, kv = 0
        var bound: KernelPrediction.Bound?
        var slowest = -1.0
        for piece in pieces {
            let r = try attentionRun(phase: .prefill, batch: b * piece.count, heads: heads, kvHeads: kvHeads, queries: piece.queries, keys: piece.keys, causal: true)
            flops += r.flops
            dram += r.dramBytes
            seconds += r.seconds
            kv += b * piece.count * piece.keys * 2 * kvHeads * kvVectorBytes(dh)
            if r.seconds > slowest { (slowest, bound) = (r.seconds, r.bound) }
        }
        pass.add(ModelOperator(
            name: "attention", layers: site.label, repeats: site.layers, category: .attention, kernel: "\(prefillKernel) (chunked)", flops: flops, weightBytes: 0,
            activationBytes: qo, kvBytes: kv, linkBytes: 0, dramBytes: dram, bound: bound, seconds: seconds))
    }

    /// MLA (DeepSeek-V2/V3): latent projections, then per job either the absorbed decode
    /// program or, for prompts, K and V decompressed by kv_b_proj over the context and
    /// causal flash2 (the query/key size d_nope + d_rope for V too).
    private mutating func latentAttention(
        _ mla: ModelSpec.LatentAttention, heads: Int, _ site: LayerSite, into pass: inout ForwardPass
    ) throws(ModelShapeError) {
        let tokens = pass.tokens, h = local.hiddenSize, n = site.layers
        let nope = mla.qkNopeHeadDim, rope = mla.qkRopeHeadDim, rank = mla.kvLoraRank
        if let qRank = mla.qLoraRank {
            try gemm("q_a_proj", site, n, .attention, GEMMShape(m: tokens, k: h, n: qRank), into: &pass)
            norm("q_a_norm", site, n, NormShape(rows: tokens, width: qRank, kind: .rmsnorm), category: .attention, into: &pass)
            try gemm("q_b_proj", site, n, .attention, GEMMShape(m: tokens, k: qRank, n: heads * (nope + rope)), into: &pass)
        } else {
            try gemm("q_proj", site, n, .attention, GEMMShape(m: tokens, k: h, n: heads * (nope + rope)), into: &pass)
        }
        try gemm("kv_a_proj", site, n, .attention, GEMMShape(m: tokens, k: h, n: rank + rope), into: &pass)
        norm("kv_a_norm", site, n, NormShape(rows: tokens, width: rank, kind: .rmsnorm), category: .attention, into: &pass)
        let ropeElements = tokens * (heads + 1) * rope
        stream("rope", site, n, .attention, read: ropeElements * e, write: ropeElements * e, flops: 3 * ropeElements, into: &pass)
        let latent = tokens * (rank + rope)
        stream("kv_append", site, n, .attention, read: latent * e, write: 0, flops: 0, kv: tokens * kvVectorBytes(rank + rope), into: &pass)
        if let indexer = local.indexer { try lightningIndexer(indexer, queryRank: mla.qLoraRank, site, into: &pass) }
        for job in pass.load.attentionJobs {
            let (b, keys) = (job.sequences, job.keys)
            // DeepSeek Sparse Attention: each query attends to its top-k keys only.
            let selected = min(keys, local.indexer?.topK ?? keys)
            let kvRead = b * selected * kvVectorBytes(rank + rope)
            let qo = b * job.queries * heads * (nope + rope + mla.vHeadDim) * e
            if job.decode {
                let r = try latentDecodeRun(batch: b, heads: heads, keys: selected)
                pass.add(attentionOperator(site, kernel: latentKVDType.map { "mla-decode-absorbed \($0)" } ?? "mla-decode-absorbed", r, activation: qo, kv: kvRead))
            } else {
                try gemm("kv_b_proj", site, n, .attention, GEMMShape(m: b * keys, k: rank, n: heads * (nope + mla.vHeadDim)), into: &pass)
                // With an indexer every query sees at most top-k keys: counted as a window of
                // top-k keys (the same keys per query; selected rather than contiguous).
                let window = local.indexer.flatMap { $0.topK < keys ? $0.topK : nil }
                let r = try attentionRun(phase: .prefill, batch: b, heads: heads, kvHeads: heads, queries: job.queries, keys: keys, causal: true, window: window)
                pass.add(attentionOperator(site, kernel: window == nil ? prefillKernel : "\(prefillKernel) (top-k)", r, activation: qo, kv: kvRead))
            }
        }
        try gemm("o_proj", site, n, .attention, GEMMShape(m: tokens, k: heads * mla.vHeadDim, n: h), into: &pass)
        allReduce("all_reduce", site, n, into: &pass)
    }

    /// DeepSeek Sparse Attention's lightning indexer (DeepSeek-V3.2-Exp): its query from the
    /// query latent (wq_b), its key (wk, LayerNorm) and per-head weights (weights_proj),
    /// the key appended to its cache, and per job the index scores I(t, s) = sum_j w_tj
    /// ReLU(q_tj . k_s) of every key a query sees (all of them in decode, keys - (queries
    /// - 1) / 2 on average in a causal prompt): 2 H_I d_I FLOPs per query and key, as a
    /// GEMM per sequence. The top-k selection is not counted separately.
    private mutating func lightningIndexer(
        _ x: ModelSpec.LightningIndexer, queryRank: Int?, _ site: LayerSite, into pass: inout ForwardPass
    ) throws(ModelShapeError) {
        let tokens = pass.tokens, h = local.hiddenSize, n = site.layers
        try gemm("index_q_proj", site, n, .attention, GEMMShape(m: tokens, k: queryRank ?? h, n: x.heads * x.headDim), into: &pass)
        try gemm("index_k_proj", site, n, .attention, GEMMShape(m: tokens, k: h, n: x.headDim), into: &pass)
        norm("index_k_norm", site, n, NormShape(rows: tokens, width: x.headDim, kind: .layernorm), category: .attention, into: &pass)
        try gemm("index_weights", site, n, .attention, GEMMShape(m: tokens, k: h, n: x.heads), into: &pass)
        let keyBytes = x.fp8Keys ? x.fp8KeyBytes : x.headDim * e
        stream("index_k_append", site, n, .attention, read: tokens * x.headDim * e, write: 0, flops: 0, kv: tokens * keyBytes, into: &pass)
        for job in pass.load.attentionJobs {
            // Decode: the H_I head queries against every key, (H_I x d_I) by (d_I x keys),
            // each key read once. Prompt: the queries' H_I x d_I values against the keys a
            // query sees on average, (queries x H_I d_I) by (H_I d_I x keys), one logit per
            // query and key as the fused kernels write; both overcount the keys read (at
            // the step's dtype, not FP8) about twice.
            let shape = job.decode
                ? GEMMShape(m: x.heads, k: x.headDim, n: job.keys)
                : GEMMShape(m: job.queries, k: x.heads * x.headDim, n: max(1, job.keys - (job.queries - 1) / 2))
            try gemm("indexer", site, n * job.sequences, .attention, shape, grouped: job.sequences, role: .unquantized, into: &pass)
        }
    }

    /// Gated DeltaNet (Yang, Kautz and Hatamizadeh 2024, "Gated Delta Networks"; Qwen3-Next's
    /// linear-attention layers), H_k key and H_v value heads of d_k and d_v: the q, k, v,
    /// z and beta, alpha projection, the causal convolution over q, k and v, the gated delta
    /// rule, the gated RMSNorm and the out projection, then its all-reduce.
    ///
    /// The delta rule: per token and value head S <- alpha S (I - beta k k^T) + beta v k^T,
    /// o = S q. A decode step runs it recurrently: about 7 d_k d_v FLOPs per head (decay,
    /// S k, the rank-1 update, S q) with the fp32 state read and written once. A prompt
    /// runs the chunkwise form (Yang et al. 2024, "Parallelizing Linear Transformers with
    /// the Delta Rule over Sequence Length", Algorithm 1; chunks of c = 64): per chunk and
    /// head two c x d_k x c products (Q K^T, K K^T), two c x c x d_v (the UT transform on
    /// V and the intra-chunk output), three c x d_k x d_v (Q S, K S, K^T U), run as one
    /// GEMM each over all chunks and heads, and the chunk states written and read once
    /// (d_k d_v each, at the step's dtype).
    private mutating func gatedDeltaNet(_ site: LayerSite, into pass: inout ForwardPass) throws(ModelShapeError) {
        guard let d = local.deltanet else { throw ModelShapeError("Gated DeltaNet layers need the model's \"deltanet\" state") }
        let tokens = pass.tokens, h = local.hiddenSize, n = site.layers
        let (kh, vh, dk, dv) = (d.keyHeads, d.valueHeads, d.keyHeadDim, d.valueHeadDim)
        let valueDim = vh * dv
        try gemm("gdn_in_proj", site, n, .ssm, GEMMShape(m: tokens, k: h, n: 2 * kh * dk + 2 * valueDim + 2 * vh), into: &pass)
        let conv = d.convChannels
        stream("gdn_conv", site, n, .ssm, read: tokens * conv * e, write: tokens * conv * e, weight: conv * d.convWidth * e,
               flops: 2 * d.convWidth * tokens * conv, into: &pass)
        let decodeTokens = pass.load.decodeSequences
        if decodeTokens > 0 {
            let state = vh * dk * dv
            stream("gdn_recurrent", site, n, .ssm, read: decodeTokens * (conv + 2 * vh) * e, write: decodeTokens * valueDim * e,
                   flops: 7 * decodeTokens * state, special: decodeTokens * vh, kv: 2 * decodeTokens * state * 4, into: &pass)
        }
        let c = Self.deltaNetChunk
        let chunks = pass.load.prefill.reduce(0) { $0 + $1.sequences * ((($1.tokens) + c - 1) / c) }
        if chunks > 0 {
            // The products of every chunk and head as one GEMM each (M = their rows), so
            // they spread over the SMs as the batched kernels do; the per-chunk right-hand
            // sides (K, V, states) are read once, the chunk states below.
            let blocks = chunks * vh
            try gemm("gdn_chunk_qk", site, n, .ssm, GEMMShape(m: 2 * blocks * c, k: dk, n: c), role: .unquantized, into: &pass)
            try gemm("gdn_chunk_pv", site, n, .ssm, GEMMShape(m: 2 * blocks * c, k: c, n: dv), role: .unquantized, into: &pass)
            try gemm("gdn_chunk_state", site, n, .ssm, GEMMShape(m: 3 * blocks * c, k: dk, n: dv), role: .unquantized, into: &pass)
            let states = blocks * dk * dv * e
            stream("gdn_chunk_states", site, n, .ssm, read: states, write: states, flops: blocks * dk * dv, into: &pass)
        }
        let outputs = tokens * valueDim
        stream("gdn_norm", site, n, .ssm, read: 2 * outputs * e, write: outputs * e, weight: dv * e, flops: 6 * outputs, special: outputs, into: &pass)
        try gemm("gdn_out_proj", site, n, .ssm, GEMMShape(m: tokens, k: valueDim, n: h), into: &pass)
        allReduce("all_reduce", site, n, into: &pass)
    }

    /// The chunk of Gated DeltaNet's chunkwise form (flash-linear-attention's kernels: 64).
    static let deltaNetChunk = 64

    /// A Mamba mixer: in projection, causal convolution, x and dt projections, the
    /// selective scan and the out projection, then its all-reduce.
    private mutating func stateSpaceMixer(_ site: LayerSite, into pass: inout ForwardPass) throws(ModelShapeError) {
        guard let ssm = local.ssm else { throw ModelShapeError("SSM layers need the model's \"ssm\" state") }
        let tokens = pass.tokens, h = local.hiddenSize, n = site.layers
        let inner = ssm.innerDim, state = ssm.stateDim, rank = local.ssmDtRank
        try gemm("ssm_in_proj", site, n, .ssm, GEMMShape(m: tokens, k: h, n: 2 * inner), into: &pass)
        stream("ssm_conv", site, n, .ssm, read: tokens * inner * e, write: tokens * inner * e, weight: inner * ssm.convWidth * e,
               flops: 2 * ssm.convWidth * tokens * inner, into: &pass)
        try gemm("ssm_x_proj", site, n, .ssm, GEMMShape(m: tokens, k: inner, n: rank + 2 * state), into: &pass)
        try gemm("ssm_dt_proj", site, n, .ssm, GEMMShape(m: tokens, k: rank, n: inner), into: &pass)
        // The selective scan: x, dt, z in, y out, B and C per token; in decode the
        // fp32 state is read and written once per step.
        let stateBytes = 2 * pass.load.decodeSequences * inner * state * 4
        stream("ssm_scan", site, n, .ssm, read: tokens * (3 * inner + 2 * state) * e, write: tokens * inner * e,
               weight: 2 * inner * state * 4, flops: 6 * tokens * inner * state, special: tokens * inner * state, kv: stateBytes, into: &pass)
        try gemm("ssm_out_proj", site, n, .ssm, GEMMShape(m: tokens, k: inner, n: h), into: &pass)
        allReduce("all_reduce", site, n, into: &pass)
    }

    /// The FFN: dense (up or gate + up, activation, down), or a router and the active
    /// experts as grouped GEMMs (one launch per matrix) beside the shared experts.
    private mutating func feedForward(_ ffn: LayerShape.FFN, _ site: LayerSite, into pass: inout ForwardPass) throws(ModelShapeError) {
        let tokens = pass.tokens, n = site.layers
        switch ffn {
        case .dense(let intermediate):
            try denseFFN("ffn", site, repeats: n, rows: tokens, intermediate: intermediate, into: &pass)
        case .moe(let experts, let topK, let shared, let intermediate) where options.expertParallel > 1:
            try expertParallelFFN(experts: experts, topK: topK, shared: shared, intermediate: intermediate, site, into: &pass)
        case .moe(let experts, let topK, let shared, let intermediate):
            try gemm("router", site, n, .ffn, GEMMShape(m: tokens, k: local.hiddenSize, n: experts), role: .unquantized, into: &pass)
            let active = Self.activeExperts(experts: experts, topK: topK, tokens: tokens)
            let rows = (tokens * topK + active - 1) / active
            // The active experts run as one grouped GEMM per matrix (one launch each).
            try denseFFN("expert", site, repeats: n * active, rows: rows, intermediate: intermediate, grouped: active, role: .experts, into: &pass)
            if shared > 0 { try denseFFN("shared_expert", site, repeats: n, rows: tokens, intermediate: shared * intermediate, into: &pass) }
        }
    }

    /// One FFN of `rows` tokens: up (gate and up when gated), the activation, down.
    mutating func denseFFN(
        _ prefix: String, _ site: LayerSite, repeats: Int, rows: Int, intermediate: Int, grouped: Int = 1, role: WeightRole = .weights,
        into pass: inout ForwardPass
    ) throws(ModelShapeError) {
        guard rows > 0, repeats > 0 else { return }
        let h = local.hiddenSize
        let gated = local.decoder.activation.isGated
        try gemm(prefix + (gated ? "_gate_up" : "_up"), site, repeats, .ffn, GEMMShape(m: rows, k: h, n: (gated ? 2 : 1) * intermediate),
                 grouped: grouped, role: role, into: &pass)
        let act = rows * intermediate
        stream(prefix + "_act", site, repeats, .ffn, read: (gated ? 2 : 1) * act * e, write: act * e, flops: (gated ? 5 : 4) * act,
               special: act, grouped: grouped, into: &pass)
        try gemm(prefix + "_down", site, repeats, .ffn, GEMMShape(m: rows, k: intermediate, n: h), grouped: grouped, role: role, into: &pass)
    }

    // MARK: Operators

    /// A GEMM through gemm.tile, or gemm-quant.tile when its weights (`role`) are
    /// quantized (`gemmPrecision`): W's bytes with its scales, X's in its format, Y at the
    /// run's dtype. `grouped` experts share one launch per kernel (a grouped GEMM, as MoE
    /// kernels run all active experts at once): each repeat carries 1/grouped of the
    /// launch overhead. An empty product is not run.
    mutating func gemm(
        _ name: String, _ site: LayerSite, _ repeats: Int, _ category: ModelOperator.Category, _ shape: GEMMShape, grouped: Int = 1,
        role: WeightRole = .weights, into pass: inout ForwardPass
    ) throws(ModelShapeError) {
        guard !shape.isEmpty else { return }
        pass.add(try gemmOperator(name, site, repeats, category, shape, grouped: grouped, role: role))
    }

    /// The operator of one GEMM (see `gemm`): gemm.tile, or gemm-quant.tile for quantized
    /// weights, with W's bytes (scales included) and X's in their formats.
    mutating func gemmOperator(
        _ name: String, _ site: LayerSite, _ repeats: Int, _ category: ModelOperator.Category, _ shape: GEMMShape, grouped: Int = 1,
        role: WeightRole = .weights
    ) throws(ModelShapeError) -> ModelOperator {
        let precision = gemmPrecision(role)
        let r = try gemmRun(shape, precision: precision)
        let shared = Double(r.kernels) * costModel.calibration.kernelOverheadSeconds * (1 - 1 / Double(max(1, grouped)))
        var weightBytes = shape.weightBytes(elementBytes: e), activationBytes = shape.activationBytes(elementBytes: e)
        var kernel = grouped > 1 ? "grouped gemm" : "gemm"
        if let precision {
            weightBytes = precision.weights.bytes(rows: shape.n, columns: shape.k)
            activationBytes = precision.inputBytes(rows: shape.m, columns: shape.k, run: options.dtype) + shape.m * shape.n * e
            kernel += " \(precision.activations.map { "\($0)" } ?? "\(precision.weights) w-only")"
        }
        return ModelOperator(
            name: name, layers: site.label, repeats: repeats, category: category, kernel: kernel, flops: r.flops,
            weightBytes: weightBytes, activationBytes: activationBytes, kvBytes: 0, linkBytes: 0,
            dramBytes: r.dramBytes, bound: r.bound, seconds: r.seconds - shared)
    }

    /// A streaming operator (`elementwise`): `read` and `write` activation bytes, `weight`
    /// and `kv` bytes, `flops` vector and `special` SFU operations.
    func stream(
        _ name: String, _ site: LayerSite, _ repeats: Int, _ category: ModelOperator.Category, read: Int, write: Int, weight: Int = 0,
        flops: Int, special: Int = 0, kv: Int = 0, grouped: Int = 1, shape: StreamingShape? = nil, into pass: inout ForwardPass
    ) {
        let bytes = read + write + weight + kv
        // PyTorch's elementwise launch over its largest operand, unless the caller gives one.
        let launch = shape ?? StreamingShape.elementwise(elements: max(read, write, kv) / max(1, e))
        let t = elementwise(bytes: bytes, flops: flops, special: special, shape: launch)
        let shared = costModel.calibration.kernelOverheadSeconds * (1 - 1 / Double(max(1, grouped)))
        pass.add(ModelOperator(
            name: name, layers: site.label, repeats: repeats, category: category, kernel: "elementwise", flops: flops + special, weightBytes: weight,
            activationBytes: read + write, kvBytes: kv, linkBytes: 0, dramBytes: bytes, bound: t.bound, seconds: t.seconds - shared))
    }

    /// A norm layer: reads and writes its rows, reads its weight.
    private func norm(
        _ name: String, _ site: LayerSite, _ repeats: Int, _ shape: NormShape, category: ModelOperator.Category = .other, into pass: inout ForwardPass
    ) {
        stream(
            name, site, repeats, category, read: shape.elements * e, write: shape.elements * e, weight: shape.parameters * e, flops: shape.flops,
            shape: StreamingShape.rows(shape.rows, width: shape.width, reductions: 1), into: &pass)
    }

    /// Tensor parallelism's all-reduce of the pass's hidden states (nothing on one GPU).
    private func allReduce(_ name: String, _ site: LayerSite, _ repeats: Int, into pass: inout ForwardPass) {
        let tp = options.tensorParallel
        guard tp > 1, let link = interconnect else { return }
        let collective = CollectiveShape(.allReduce, bytes: pass.tokens * local.hiddenSize * e, gpus: tp)
        let choice = costModel.allReduce(bytes: collective.bytes, gpus: collective.gpus, over: link)
        self.link(name, site, repeats, collective, seconds: choice?.seconds ?? 0, choice: choice, into: &pass)
    }

    /// Time on the interconnect that compute does not hide: an all-reduce carries
    /// 2 (G - 1) / G of its bytes per GPU, a send its bytes. The kernel column names the
    /// link and the NCCL algorithm and protocol that time it (`NVLink 4 ring/LL`; a send or
    /// an all-to-all: `NVLink 4 LL`).
    func link(
        _ name: String, _ site: LayerSite, _ repeats: Int, _ collective: CollectiveShape, seconds: Double, choice: CollectiveTuning.Choice? = nil,
        into pass: inout ForwardPass
    ) {
        let linkName = interconnect?.name ?? "link"
        let kernel = choice.map {
            collective.kind == .allReduce
                ? "\(linkName) \($0.algorithm.rawValue)/\($0.collectiveProtocol.rawValue)" : "\(linkName) \($0.collectiveProtocol.rawValue)"
        } ?? linkName
        let bytes = collective.kind == .allReduce
            ? Interconnect.allReduceBytesPerGPU(bytes: collective.bytes, gpus: collective.gpus) : collective.bytes
        pass.add(ModelOperator(
            name: name, layers: site.label, repeats: repeats, category: .link, kernel: kernel, flops: 0, weightBytes: 0,
            activationBytes: 0, kvBytes: 0, linkBytes: bytes, dramBytes: 0, bound: nil, seconds: seconds))
    }

    /// The decode kernel's name: flash-decoding, or flash-decoding-quant over a quantized
    /// KV cache.
    var decodeKernel: String { kvQuantParameters == nil ? "flash-decoding" : "flash-decoding-quant" }

    /// The attention core as an operator: a tile program's predicted run.
    private func attentionOperator(_ site: LayerSite, kernel: String, _ r: Evaluated, activation: Int, kv: Int) -> ModelOperator {
        ModelOperator(
            name: "attention", layers: site.label, repeats: site.layers, category: .attention, kernel: kernel, flops: r.flops, weightBytes: 0,
            activationBytes: activation, kvBytes: kv, linkBytes: 0, dramBytes: r.dramBytes, bound: r.bound, seconds: r.seconds)
    }
}
