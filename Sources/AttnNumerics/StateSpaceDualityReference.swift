/// Mamba-2's selective state space model in float64, step by step (Dao and Gu, "Transformers
/// are SSMs: Generalized Models and Efficient Algorithms Through Structured State Space
/// Duality", ICML 2024, Sections 3 and 7; the recurrence that Listing 1's `ssd_minimal`
/// computes in chunks):
///
///     h_t = exp(dt_t A_h) h_{t-1} + B_t (dt_t x_t)^T      (per head: a state of N x P)
///     y_t = h_t^T C_t
///
/// A is one scalar per head (SSD's restriction of Mamba's diagonal A to a multiple of the
/// identity), and B, C of one group are shared by the heads of that group (Section 7.2,
/// "multi-input SSM", as GQA shares keys). The recurrence runs token by token, no chunks:
/// it is the definition the chunked program is checked against.
public enum StateSpaceDualityReference {
    /// x [batch, L, H, P]; dt [batch, H, L]; a [H]; b, c [batch, L, G, N] with H a multiple
    /// of G (head h reads group h / (H / G)). Returns y [batch, L, H, P], or nil when the
    /// shapes do not fit together.
    public static func output(x: HostTensor, dt: HostTensor, a: HostTensor, b: HostTensor, c: HostTensor) -> [Double]? {
        guard x.shape.count == 4, a.shape.count == 1, b.shape.count == 4, c.shape == b.shape else { return nil }
        let (batch, length, heads, headDim) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (groups, state) = (b.shape[2], b.shape[3])
        guard dt.shape == [batch, heads, length], a.shape[0] == heads, b.shape[0] == batch, b.shape[1] == length,
            groups > 0, heads % groups == 0
        else { return nil }
        let headsPerGroup = heads / groups
        var y = [Double](repeating: 0, count: x.count)
        var h = [Double](repeating: 0, count: state * headDim)
        for n in 0..<batch {
            for head in 0..<heads {
                let group = head / headsPerGroup
                let decayRate = Double(a.values[head])
                for i in h.indices { h[i] = 0 }
                for t in 0..<length {
                    let step = Double(dt.values[(n * heads + head) * length + t])
                    let decay = _exp(step * decayRate)
                    let xBase = ((n * length + t) * heads + head) * headDim
                    let bcBase = ((n * length + t) * groups + group) * state
                    for s in 0..<state {
                        let input = step * Double(b.values[bcBase + s])
                        for p in 0..<headDim {
                            h[s * headDim + p] = decay * h[s * headDim + p] + input * Double(x.values[xBase + p])
                        }
                    }
                    for p in 0..<headDim {
                        var sum = 0.0
                        for s in 0..<state { sum += h[s * headDim + p] * Double(c.values[bcBase + s]) }
                        y[xBase + p] = sum
                    }
                }
            }
        }
        return y
    }
}
