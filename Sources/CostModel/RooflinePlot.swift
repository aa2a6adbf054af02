import Foundation

/// A log-log roofline plot written directly as SVG text: the memory roof (bandwidth x
/// intensity), the matmul and vector ceilings, and one labelled point per run.
public enum RooflinePlot {
    public struct Point: Sendable {
        public var label: String
        /// FLOPs per DRAM byte.
        public var intensity: Double
        /// Achieved FLOP/s: FLOPs / predicted time.
        public var flopsPerSecond: Double

        public init(label: String, intensity: Double, flopsPerSecond: Double) {
            self.label = label
            self.intensity = intensity
            self.flopsPerSecond = flopsPerSecond
        }
    }

    /// The plot of `points` under the roofs of `model` (its run dtype's matmul peak, the
    /// FP32 vector peak) and of `ceilings`: the other matmul peaks the runs' kernels were
    /// timed against (a kernel declaring `mma(async, fp8e4m3)` runs under the FP8 peak).
    public static func svg(_ points: [Point], model: CostModel, title: String, ceilings: [Double] = []) -> String {
        let width = 900.0, height = 560.0, left = 80.0, right = 30.0, top = 50.0, bottom = 60.0
        let peak = model.matmulFlopsPerSecond, vector = model.hardware.vectorFlopsPerSecond, bandwidth = model.hbmBytesPerSecond
        let finite = points.filter { $0.intensity > 0 && $0.flopsPerSecond > 0 }
        let others = ceilings.filter { $0 != peak && $0 > 0 }.reduce(into: [Double]()) { if !$0.contains($1) { $0.append($1) } }
        let xs = finite.map(\.intensity) + [model.ridgePoint] + others.map { $0 / bandwidth }
        let xMin = pow(10, floor(log10(max(1e-3, (xs.min() ?? 1) / 2)))), xMax = pow(10, ceil(log10((xs.max() ?? 1000) * 4)))
        let highest = others.reduce(peak, max)
        let yMax = pow(10, ceil(log10(highest * 1.5)))
        let yMin = pow(10, floor(log10(min(finite.map(\.flopsPerSecond).min() ?? peak, bandwidth * xMin) / 2)))
        func x(_ v: Double) -> Double { left + (log10(v) - log10(xMin)) / (log10(xMax) - log10(xMin)) * (width - left - right) }
        func y(_ v: Double) -> Double { height - bottom - (log10(v) - log10(yMin)) / (log10(yMax) - log10(yMin)) * (height - top - bottom) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">\(escape(title))</text>\n"
        // Grid and axes: one line per decade.
        var decade = xMin
        while decade <= xMax * 1.0001 {
            svg += "<line x1=\"\(f(x(decade)))\" y1=\"\(f(top))\" x2=\"\(f(x(decade)))\" y2=\"\(f(height - bottom))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(x(decade)))\" y=\"\(f(height - bottom + 18))\" text-anchor=\"middle\">\(label(decade))</text>\n"
            decade *= 10
        }
        decade = yMin
        while decade <= yMax * 1.0001 {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(decade)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(decade)))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(decade) + 4))\" text-anchor=\"end\">\(label(decade))</text>\n"
            decade *= 10
        }
        svg += "<text x=\"\(f(width / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">arithmetic intensity (FLOPs per DRAM byte)</text>\n"
        svg += "<text transform=\"translate(20 \(f(height / 2))) rotate(-90)\" text-anchor=\"middle\">FLOP/s</text>\n"
        // Roofs: memory up to each ceiling, then the ceilings.
        let roofs = [(peak, "matmul peak", "#c0392b")] + others.map { ($0, "kernel MMA dtype's matmul peak", "#e67e22") } + [(vector, "FP32 vector peak", "#7f8c8d")]
        for (ceiling, name, color) in roofs {
            let ridge = ceiling / bandwidth
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(f(x(xMin))),\(f(y(bandwidth * xMin))) \(f(x(ridge))),\(f(y(ceiling))) \(f(x(xMax))),\(f(y(ceiling)))\"/>\n"
            svg += "<text x=\"\(f(x(xMax) - 4))\" y=\"\(f(y(ceiling) - 6))\" text-anchor=\"end\" fill=\"\(color)\">\(name) \(label(ceiling))FLOP/s</text>\n"
        }
        svg += "<text x=\"\(f(x(xMin) + 6))\" y=\"\(f(y(bandwidth * xMin) - 8))\" fill=\"#c0392b\">DRAM \(label(bandwidth))B/s</text>\n"
        let colors = ["#2980b9", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#2c3e50", "#f39c12", "#e84393"]
        var colorOf: [String: String] = [:]
        for (index, point) in finite.enumerated() {
            let series = String(point.label.split(separator: " ").first ?? "")
            let color = colorOf[series] ?? colors[colorOf.count % colors.count]
            colorOf[series] = color
            svg += "<circle cx=\"\(f(x(point.intensity)))\" cy=\"\(f(y(point.flopsPerSecond)))\" r=\"5\" fill=\"\(color)\"/>\n"
            // Alternate labels above and below their points so neighbours stay legible.
            let dy = index % 2 == 0 ? 4.0 : 16.0
            svg += "<text x=\"\(f(x(point.intensity) + 8))\" y=\"\(f(y(point.flopsPerSecond) + dy))\" fill=\"\(color)\">\(escape(point.label))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// 1e12 as "1T", 3.35e12 as "3.35T".
    static func label(_ v: Double) -> String {
        for (scale, suffix) in [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where v >= scale {
            let m = v / scale
            return (m == m.rounded() ? String(Int(m)) : String(format: "%.3g", m)) + suffix
        }
        return v >= 1 ? String(format: "%g", v) : String(format: "%g", v)
    }
}
