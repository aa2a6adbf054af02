/// The Mamba selective scan in float64, step by step (Gu and Dao, "Mamba: Linear-Time
/// Sequence Modeling with Selective State Spaces", 2023, Algorithm 2 and Section 3.2):
///
///     h_t = exp(delta_t A) o h_{t-1} + (delta_t x_t) B_t^T      (per channel: a state of S)
///     y_t = h_t C_t
///
/// with zero-order-hold discretization of A and the simplified (Euler) one of B, as
/// Mamba's reference implementation does.
public enum SelectiveScanReference {
    /// Shapes: x, delta [batch, L, D]; a [D, S]; b, c [batch, L, S]. Returns y [batch, L, D],
    /// or nil when the shapes do not fit together.
    public static func output(x: HostTensor, delta: HostTensor, a: HostTensor, b: HostTensor, c: HostTensor) -> [Double]? {
        guard x.shape.count == 3, delta.shape == x.shape, a.shape.count == 2, a.shape[0] == x.shape[2],
            b.shape == [x.shape[0], x.shape[1], a.shape[1]], c.shape == b.shape
        else { return nil }
        let batch = x.shape[0], length = x.shape[1], channels = x.shape[2], state = a.shape[1]
        var y = [Double](repeating: 0, count: x.count)
        var h = [Double](repeating: 0, count: channels * state)
        for n in 0..<batch {
            for i in h.indices { h[i] = 0 }
            for t in 0..<length {
                let row = (n * length + t) * channels
                let bc = (n * length + t) * state
                for ch in 0..<channels {
                    let dt = Double(delta.values[row + ch]), xv = Double(x.values[row + ch])
                    var out = 0.0
                    for s in 0..<state {
                        let k = ch * state + s
                        h[k] = _exp(dt * Double(a.values[k])) * h[k] + dt * xv * Double(b.values[bc + s])
                        out += h[k] * Double(c.values[bc + s])
                    }
                    y[row + ch] = out
                }
            }
        }
        return y
    }
}
