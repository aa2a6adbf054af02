extension ModelSpec {
    /// Elements of the routed experts' weight matrices stored in `moe.expert_dtype` (0
    /// without one): per layer with experts, E x (3 if gated else 2) x hidden x
    /// expert intermediate (gate, up and down; biases and shared experts excluded).
    public var lowPrecisionExpertWeights: Int {
        guard let decoder, let moe = decoder.moe, moe.expertDType != nil else { return 0 }
        let perExpert = (decoder.activation.isGated ? 3 : 2) * hiddenSize * moe.expertIntermediateSize
        let moeLayers = (0..<layers).filter { moe.appliesTo(layer: $0) }.count
        return moeLayers * moe.experts * perExpert
    }

    /// Bytes of the weights with `bytesPerParameter` each, except the routed experts'
    /// matrices stored in a low-precision format (gpt-oss's MXFP4: 4.25 bits each), which
    /// take that format's bytes: (parameters - n) x bytes + format bytes(n).
    public func weightBytes(bytesPerParameter: Int) -> Int {
        let low = lowPrecisionExpertWeights
        guard low > 0, let format = decoder?.moe?.expertDType else { return parameters * bytesPerParameter }
        return max(0, parameters - low) * bytesPerParameter + format.bytes(elements: low)
    }

    /// Bytes of the weights with the layers' parameters in `format` (scales included,
    /// `TensorFormat.bytes(elements:)`) and the embedding, the LM head and learned
    /// positions at `bytesPerParameter`, as FP8, NVFP4, AWQ and GPTQ checkpoints keep them;
    /// routed experts stored in a format of their own (`moe.expert_dtype`) keep it. The
    /// layers' norms and routers (under 0.1% of a model) are counted in `format`. Without
    /// a decoder object every parameter is in `format`.
    public func weightBytes(format: TensorFormat, bytesPerParameter: Int) -> Int {
        var embeddings = 0
        if let d = decoder { embeddings = min(parameters, (d.vocabSize * (d.tiedEmbeddings ? 1 : 2) + d.positionEmbeddings) * hiddenSize) }
        let low = lowPrecisionExpertWeights
        let layers = max(0, parameters - embeddings - low)
        let experts = decoder?.moe?.expertDType.map { $0.bytes(elements: low) } ?? 0
        return embeddings * bytesPerParameter + format.bytes(elements: layers) + experts
    }
}
