import AttnJSON
import AttnNumerics
import Foundation

/// Renders the scaling-law analysis of `attnsim rope` (`RoPEExtrapolation`): one row per
/// quantity with the equation that gives it (table, Markdown, CSV), or one JSON object.
public enum RoPEReport {
    public static func render(_ a: RoPEExtrapolation, format: ReportFormat) -> String {
        switch format {
        case .json: return json(a).render() + "\n"
        case .csv: return table(a).renderCSV()
        case .markdown: return header(a) + "\n\n" + table(a).renderMarkdown()
        case .table: return header(a) + "\n\n" + table(a).renderText()
        }
    }

    /// The line above the table: what was analysed.
    static func header(_ a: RoPEExtrapolation) -> String {
        let s = a.spec
        var text = "RoPE base \(number(s.base)), head dim \(s.headDim), trained on \(NumberFormat.grouped(s.trainLength)) tokens"
        switch s.method {
        case .none: break
        case .abf: text += "; ABF to base \(number(a.effectiveBase))"
        case .linear, .ntk, .yarn: text += "; \(s.method.rawValue) scaling by \(number(s.factor))"
        }
        if a.tuneLength != s.trainLength { text += "; tuned on \(NumberFormat.grouped(a.tuneLength)) tokens" }
        return text + " (Liu et al. 2023, \"Scaling Laws of RoPE-based Extrapolation\")"
    }

    /// Rows: quantity, value, how it follows.
    static func rows(_ a: RoPEExtrapolation) -> [[String]] {
        let s = a.spec
        var rows: [[String]] = [
            ["critical_dimension", String(a.criticalDimension),
             "2 ceil(d/2 log_base(T_train / 2 pi)) (eq. 13): the dimensions that saw a whole period in training"],
            ["critical_period_tokens", a.criticalPeriod.map(tokens) ?? "none",
             "2 pi base^(d_extra / d): the period of the first pair past the critical dimension"],
            ["scaled_base", number(a.effectiveBase), baseHow(s.method)],
            ["critical_base", number(a.criticalBase), "base^(log_{T_train/2pi}(T_tune/2pi)) (eq. 16a)"],
            ["regime", a.regime.rawValue,
             a.regime == .largerBase ? "scaled base > critical base: the bound is the critical dimension's period (eq. 16b)"
                : "scaled base <= critical base: the bound is the tuning length (eq. 16c)"],
            ["tuned_critical_dimension", String(a.tunedCriticalDimension),
             a.regime == .largerBase ? "unchanged above the critical base" : "2 ceil(d/2 log_beta(T_tune / 2 pi)) (eq. 16c)"],
        ]
        if a.positionScale != 1 {
            rows.append(["position_scale", number(a.positionScale),
                         s.method == .linear ? "positions divided by the factor" : "YaRN divides the critical pairs' positions by this (ramp at their turns over T_train)"])
        }
        rows.append(["extrapolation_bound_tokens", a.extrapolationBound.map(tokens) ?? "unbounded",
                     boundHow(a)])
        let thresholds = a.smallBaseThresholds.map(number).joined(separator: " / ")
        rows.append(["small_base_thresholds", thresholds,
                     "2 T_tune / pi, T_tune / pi, T_tune / (2 pi) (eq. 16d): bases below them extrapolate past T_tune; the scaled base is below \(["none", "one", "two", "all three"][min(3, max(0, a.thresholdsBelow))]) of them"])
        if let parts = a.yarnParts {
            rows.append(["attention_scale", number(a.attentionScale), "YaRN: q and k times 0.1 ln(s) + 1"])
            rows.append(["yarn_pairs", "\(parts.interpolated) / \(parts.ramped) / \(parts.kept)",
                         "pairs interpolated (< alpha turns in T_train) / ramped / kept (> beta turns)"])
        }
        return rows
    }

    static func baseHow(_ method: RoPEExtrapolation.Method) -> String {
        switch method {
        case .none, .linear, .yarn: return "the pre-training base"
        case .ntk: return "NTK-aware: base s^(d/(d-2))"
        case .abf: return "ABF: the new base"
        }
    }

    static func boundHow(_ a: RoPEExtrapolation) -> String {
        guard a.extrapolationBound != nil else { return "every pair saw a whole period: the law sets no bound" }
        let base = a.regime == .largerBase ? "2 pi beta^(d_extra / d) (eq. 16b)" : "T_tune (eq. 16c)"
        return a.positionScale != 1 ? base + " x position scale" : base
    }

    static func table(_ a: RoPEExtrapolation) -> TextTable {
        TextTable(headers: ["quantity", "value", "how"], rows: rows(a), rightAligned: [1])
    }

    /// The analysis as one object (docs/output-format.md).
    public static func json(_ a: RoPEExtrapolation) -> JSONOutput {
        let s = a.spec
        var members: [(String, JSONOutput)] = [
            ("base", .double(s.base)), ("head_dim", .int(s.headDim)), ("train_length", .int(s.trainLength)),
            ("scaling", .string(s.method.rawValue)), ("factor", .double(s.factor)), ("tune_length", .int(a.tuneLength)),
            ("critical_dimension", .int(a.criticalDimension)), ("critical_period_tokens", a.criticalPeriod.map { .double($0) } ?? .null),
            ("scaled_base", .double(a.effectiveBase)), ("critical_base", .double(a.criticalBase)), ("regime", .string(a.regime.rawValue)),
            ("tuned_critical_dimension", .int(a.tunedCriticalDimension)), ("position_scale", .double(a.positionScale)),
            ("extrapolation_bound_tokens", a.extrapolationBound.map { .double($0) } ?? .null),
            ("small_base_thresholds", .array(a.smallBaseThresholds.map { .double($0) })), ("thresholds_below", .int(a.thresholdsBelow)),
            ("attention_scale", .double(a.attentionScale)),
        ]
        if let parts = a.yarnParts {
            members.append(("yarn_alpha", .double(s.yarnAlpha)))
            members.append(("yarn_beta", .double(s.yarnBeta)))
            members.append(("yarn_pairs", .object([("interpolated", .int(parts.interpolated)), ("ramped", .int(parts.ramped)), ("kept", .int(parts.kept))])))
        }
        return .object(members)
    }

    /// A token count rounded to the nearest token, grouped (4,712).
    static func tokens(_ x: Double) -> String { NumberFormat.grouped(Int(x.rounded())) }

    /// A real number: an integer below 1e15 as its digits (1000000), any other as `%g` with
    /// up to 6 significant digits (71738.4, 1.27726).
    static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        var text = ""
        withVaList([x]) { text = NSString(format: "%.6g", arguments: $0) as String }
        return text
    }
}
