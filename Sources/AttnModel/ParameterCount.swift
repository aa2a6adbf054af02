import Workload

/// The parameters of a model by where they sit, counted from its decoder fields
/// (docs/model.md gives each formula).
public struct ParameterCount: Sendable, Equatable {
    /// Token embedding table: vocab x hidden.
    public var embedding: Int
    /// Learned position table: positions x hidden (GPT-2, GPT-3, OPT).
    public var positionEmbedding: Int
    /// Q, K, V and O projections (and their biases, per-head norms, sink logits, output
    /// gates and lightning indexers) of every attention layer.
    public var attention: Int
    /// Dense FFNs, routed and shared experts, and routers.
    public var ffn: Int
    /// Recurrent mixers: Mamba (in/out projections, convolution, x and dt projections, A,
    /// D) and Gated DeltaNet (projections, convolution, gates, norm).
    public var ssm: Int
    /// Every norm's weight (and LayerNorm's bias), the final norm included.
    public var norms: Int
    /// The LM head's vocab x hidden matrix; 0 when tied to the embedding.
    public var lmHead: Int
    /// FFN parameters one token uses: top-k routed and the shared experts, not all of them.
    public var activeFFN: Int
    /// Elements of the routed experts' weight matrices (in `ffn`) stored in the model's
    /// `moe.expert_dtype`; 0 without one.
    public var lowPrecisionExpertWeights = 0
    /// The format of `lowPrecisionExpertWeights`.
    public var expertDType: DecoderBlock.ExpertDType?
    /// Elements of the routed experts' weight matrices (in `ffn`), whatever their format.
    public var routedExpertWeights = 0
    /// The routers' parameters (in `ffn`): weights, biases, shared-expert gates.
    public var routers = 0

    /// Weight bytes with `elementBytes` per parameter, the low-precision experts in their
    /// own format (gpt-oss's MXFP4: 4.25 bits each; `DecoderBlock.ExpertDType.bytes`).
    public func weightBytes(elementBytes e: Int) -> Int {
        guard let format = expertDType, lowPrecisionExpertWeights > 0 else { return total * e }
        return (total - lowPrecisionExpertWeights) * e + format.bytes(elements: lowPrecisionExpertWeights)
    }

    /// Weight bytes with the decoder layers' linear layers in `weights` and the routed
    /// experts' matrices in `experts` (nil: `elementBytes` each), the rest (embedding, LM
    /// head, norms, routers) at `elementBytes`: (total - L - R) e + weights bytes(L) +
    /// experts bytes(R), where R is the routed experts' matrices and L = attention + FFN +
    /// SSM - routers - R (the few biases and per-head norm weights among them counted in
    /// the weights' format). Block scales included, per-tensor scales not
    /// (`TensorFormat.bytes(elements:)`).
    public func weightBytes(elementBytes e: Int, weights: TensorFormat?, experts: TensorFormat?) -> Int {
        let linear = attention + ffn + ssm - routers - routedExpertWeights
        let rest = total - linear - routedExpertWeights
        return rest * e + (weights?.bytes(elements: linear) ?? linear * e) + (experts?.bytes(elements: routedExpertWeights) ?? routedExpertWeights * e)
    }

    public var total: Int { embedding + positionEmbedding + attention + ffn + ssm + norms + lmHead }
    /// Parameters one token's forward pass reads (MoE: top-k experts only).
    public var active: Int { total - ffn + activeFFN }

    /// Counts `architecture`'s parameters.
    public init(_ a: Architecture) {
        let h = a.hiddenSize
        let d = a.decoder
        embedding = d.vocabSize * h
        positionEmbedding = d.positionEmbeddings * h
        lmHead = d.tiedEmbeddings ? 0 : d.vocabSize * h
        let norm = d.norm.parametersPerElement * h
        norms = a.layers.count * d.normsPerLayer * norm + (d.finalNorm ? norm : 0)
        var attention = 0, ffn = 0, ssm = 0, active = 0, lowPrecision = 0
        for layer in a.layers {
            switch layer.mixer {
            case .attention(let heads, let kvHeads):
                if let mla = a.mla {
                    attention += Self.latentAttention(hidden: h, heads: heads, mla: mla)
                    if let indexer = a.indexer { attention += Self.indexer(hidden: h, indexer: indexer, queryRank: mla.qLoraRank) }
                } else {
                    attention += Self.attention(hidden: h, heads: heads, kvHeads: kvHeads, headDim: a.headDim, bias: d.bias)
                }
                // Per-head RMSNorm weights of queries and keys (Qwen3, Gemma 3: q_norm, k_norm).
                if d.qkNorm { attention += 2 * a.headDim }
                // One learned sink logit per head (gpt-oss).
                if d.sinkLogits { attention += heads }
                // The output gate's half of the query projection, hidden x H dh (Qwen3-Next).
                if d.attentionOutputGate { attention += h * heads * a.headDim + (d.bias ? heads * a.headDim : 0) }
            case .ssm:
                ssm += Self.mamba(hidden: h, state: a.ssm, dtRank: a.ssmDtRank, bias: d.bias)
            case .deltanet:
                ssm += Self.gatedDeltaNet(hidden: h, state: a.deltanet)
            }
            switch layer.ffn {
            case .dense(let intermediate):
                let p = Self.ffn(hidden: h, intermediate: intermediate, gated: d.activation.isGated, bias: d.bias)
                ffn += p
                active += p
            case .moe(let experts, let topK, let shared, let intermediate):
                let one = Self.ffn(hidden: h, intermediate: intermediate, gated: d.activation.isGated, bias: d.bias)
                // The router (and its bias), and the shared experts' sigmoid gate (Qwen3-Next).
                let router = h * experts + (d.moe?.routerBias == true ? experts : 0) + (d.moe?.sharedExpertGate == true ? h : 0)
                ffn += (experts + shared) * one + router
                active += (topK + shared) * one + router
                routedExpertWeights += experts * (d.activation.isGated ? 3 : 2) * h * intermediate
                routers += router
                if d.moe?.expertDType != nil { lowPrecision += experts * (d.activation.isGated ? 3 : 2) * h * intermediate }
            }
        }
        self.attention = attention
        self.ffn = ffn
        self.ssm = ssm
        activeFFN = active
        lowPrecisionExpertWeights = lowPrecision
        expertDType = d.moe?.expertDType
    }

    /// One attention layer: h (H + 2 Hkv) dh for Q, K, V and H dh h for O, plus their
    /// biases (H + 2 Hkv) dh + h when the model has them.
    public static func attention(hidden h: Int, heads: Int, kvHeads: Int, headDim dh: Int, bias: Bool) -> Int {
        let qkv = (heads + 2 * kvHeads) * dh
        return h * qkv + heads * dh * h + (bias ? qkv + h : 0)
    }

    /// One MLA layer (DeepSeek-V2, Section 2.1; Hugging Face DeepseekV3Attention), with
    /// r_q and r_kv the query and KV latent ranks, d_n, d_r, d_v the no-RoPE, RoPE and value
    /// sizes per head: queries h r_q + r_q (q_a_proj, its RMSNorm) + r_q H (d_n + d_r)
    /// (q_b_proj), or h H (d_n + d_r) without a query latent; keys and values h (r_kv +
    /// d_r) + r_kv (kv_a_proj_with_mqa, its RMSNorm) + r_kv H (d_n + d_v) (kv_b_proj);
    /// output H d_v h.
    public static func latentAttention(hidden h: Int, heads: Int, mla: ModelSpec.LatentAttention) -> Int {
        let qk = mla.qkNopeHeadDim + mla.qkRopeHeadDim
        let query = mla.qLoraRank.map { h * $0 + $0 + $0 * heads * qk } ?? h * heads * qk
        let kv = h * (mla.kvLoraRank + mla.qkRopeHeadDim) + mla.kvLoraRank + mla.kvLoraRank * heads * (mla.qkNopeHeadDim + mla.vHeadDim)
        return query + kv + heads * mla.vHeadDim * h
    }

    /// DeepSeek Sparse Attention's lightning indexer per layer (DeepSeek-V3.2-Exp, the
    /// released `Indexer`), H_I heads of d_I: wq_b r_q H_I d_I from the query latent (h H_I
    /// d_I without one), wk h d_I, its LayerNorm 2 d_I, weights_proj h H_I; no biases.
    public static func indexer(hidden h: Int, indexer x: ModelSpec.LightningIndexer, queryRank: Int?) -> Int {
        (queryRank ?? h) * x.heads * x.headDim + h * x.headDim + 2 * x.headDim + h * x.heads
    }

    /// One Gated DeltaNet mixer (Qwen3-Next's `Qwen3NextGatedDeltaNet`), H_k key and H_v
    /// value heads of d_k and d_v, conv width w: in_proj_qkvz h (2 H_k d_k + 2 H_v d_v),
    /// in_proj_ba h 2 H_v, conv1d (2 H_k d_k + H_v d_v) w (no bias), dt_bias and A_log H_v
    /// each, the gated RMSNorm d_v, out_proj H_v d_v h.
    public static func gatedDeltaNet(hidden h: Int, state: ModelSpec.DeltaNetState?) -> Int {
        guard let d = state else { return 0 }
        let valueDim = d.valueHeads * d.valueHeadDim
        return h * (2 * d.keyHeads * d.keyHeadDim + 2 * valueDim) + h * 2 * d.valueHeads + d.convChannels * d.convWidth + 2 * d.valueHeads
            + d.valueHeadDim + valueDim * h
    }

    /// One FFN: 3 h I gated (gate, up, down), else 2 h I; biases 2 I + h or I + h.
    public static func ffn(hidden h: Int, intermediate i: Int, gated: Bool, bias: Bool) -> Int {
        (gated ? 3 : 2) * h * i + (bias ? (gated ? 2 * i : i) + h : 0)
    }

    /// One Mamba mixer (Gu and Dao 2023, reference implementation), D = inner, N = state,
    /// R = dt rank, w = conv width: in_proj h 2D, conv D w + D, x_proj D (R + 2N),
    /// dt_proj R D + D, A D N, D, out_proj D h (in/out biases when the model has them).
    public static func mamba(hidden h: Int, state: ModelSpec.SSMState?, dtRank r: Int, bias: Bool) -> Int {
        guard let state else { return 0 }
        let inner = state.innerDim, n = state.stateDim
        return h * 2 * inner + inner * state.convWidth + inner + inner * (r + 2 * n) + r * inner + inner + inner * n + inner + inner * h
            + (bias ? 2 * inner + h : 0)
    }

    /// Attention's share of the layer parameters (attention + FFN + SSM), 0 to 1.
    public var attentionShare: Double {
        let layer = attention + ffn + ssm
        return layer > 0 ? Double(attention) / Double(layer) : 0
    }

    /// The FFN's share of the layer parameters, 0 to 1.
    public var ffnShare: Double {
        let layer = attention + ffn + ssm
        return layer > 0 ? Double(ffn) / Double(layer) : 0
    }
}
