import Workload

/// The parameters of a model by where they sit, counted from its decoder fields
/// (docs/model.md gives each formula).
public struct ParameterCount: Sendable, Equatable {
    /// Token embedding table: vocab x hidden.
    public var embedding: Int
    /// Learned position table: positions x hidden (GPT-2, GPT-3, OPT).
    public var positionEmbedding: Int
    /// Q, K, V and O projections (and their biases) of every attention layer.
    public var attention: Int
    /// Dense FFNs, routed and shared experts, and routers.
    public var ffn: Int
    /// Mamba mixers (in/out projections, convolution, x and dt projections, A, D).
    public var ssm: Int
    /// Every norm's weight (and LayerNorm's bias), the final norm included.
    public var norms: Int
    /// The LM head's vocab x hidden matrix; 0 when tied to the embedding.
    public var lmHead: Int
    /// FFN parameters one token uses: top-k routed and the shared experts, not all of them.
    public var activeFFN: Int

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
        var attention = 0, ffn = 0, ssm = 0, active = 0
        for layer in a.layers {
            switch layer.mixer {
            case .attention(let heads, let kvHeads):
                if let mla = a.mla {
                    attention += Self.latentAttention(hidden: h, heads: heads, mla: mla)
                } else {
                    attention += Self.attention(hidden: h, heads: heads, kvHeads: kvHeads, headDim: a.headDim, bias: d.bias)
                }
            case .ssm:
                ssm += Self.mamba(hidden: h, state: a.ssm, dtRank: a.ssmDtRank, bias: d.bias)
            }
            switch layer.ffn {
            case .dense(let intermediate):
                let p = Self.ffn(hidden: h, intermediate: intermediate, gated: d.activation.isGated, bias: d.bias)
                ffn += p
                active += p
            case .moe(let experts, let topK, let shared, let intermediate):
                let one = Self.ffn(hidden: h, intermediate: intermediate, gated: d.activation.isGated, bias: d.bias)
                let router = h * experts + (d.moe?.routerBias == true ? experts : 0)
                ffn += (experts + shared) * one + router
                active += (topK + shared) * one + router
            }
        }
        self.attention = attention
        self.ffn = ffn
        self.ssm = ssm
        activeFFN = active
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
