import AttnHardware
import AttnNumerics
import AttnTestSupport

/// One generated differential case: a tile program, the shape it runs on and the
/// hardware it is checked against (sometimes a part with tiny on-chip memory, so that
/// capacity errors happen on small shapes).
struct GeneratedCase: Sendable {
    var seed: UInt64
    var source: String
    var shape: ProblemShape
    /// The run's storage dtype (tensors without their own dtype use it).
    var dtype: DType
    var hardware: HardwareProfile

    /// Everything needed to reproduce the case by hand.
    var summary: String {
        """
        seed \(seed): batch \(shape.batch), heads \(shape.heads), kv_heads \(shape.kvHeads), \
        N \(shape.queryLength), Nkv \(shape.keyLength), d \(shape.headDim), dtype \(dtype), \
        sram \(hardware.sharedMemoryBytesPerBlock) B, registers \(hardware.registerBytesPerBlock) B
        \(source)
        """
    }
}

/// Seeded random tile programs for differential testing of the interpreter.
///
/// Programs are valid by construction as far as the checker goes (names, types, ranks);
/// at run time most succeed, and some fail on purpose — a loop bound that runs a block
/// index past its tensor, a column past its tile, a tile over a tiny capacity — which is
/// where compressed and exhaustive count mode must agree too. The programs mix the shapes
/// the compressor has to reason about: grids of one to three axes (with a head or batch
/// axis), loop bounds affine in the grid axes (causal `0 ..< i + 1`, windows
/// `max(0, i - w) ..< i + 1`, splits whose lower bound depends on an axis, backward-style
/// loops that start at the diagonal), `if` / `elif` / `else` on block indices and heads,
/// `block_mask` guards, nested loops whose trip counts depend on the block and the key
/// block, `mask_causal` / `mask_window` with offsets, `col(x, j)`, `rows` / `cols` / range
/// slices with ragged last blocks, Br != Bc, GQA head mapping, online-softmax loops that
/// carry tiles, and grid axes the body never reads (possibly empty). Now and then a
/// statement with extreme constants (near 2^63) is slipped in, drawn from a generator of
/// its own so the rest of the program is as it would be without it: tile sizes, mask and
/// rotation positions, products and loop bounds whose integers pass 64 bits (every mode
/// must fail with the same overflow diagnostic), and extremes that fit (every mode must
/// count them alike).
struct ProgramGenerator {
    private var rng: SeededGenerator
    /// Draws the extreme statements (apart from `rng`).
    private var extremes: SeededGenerator
    /// Extreme statements so far (each assigns a variable of its own).
    private var extremeCount = 0
    /// Draws the thread-block clusters and multicast loads (apart from `rng`, so the
    /// programs of every seed are otherwise as they were before clusters existed).
    private var clusters: SeededGenerator
    private let seed: UInt64
    private var lines: [String] = []
    private var br = 1, bc = 1
    /// Query blocks of the case, cdiv(N, Br): a cluster along `i` must divide it.
    private var queryBlocks = 1

    init(seed: UInt64) {
        self.seed = seed
        self.rng = SeededGenerator(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 0x1234_5678)
        self.extremes = SeededGenerator(seed: seed ^ 0x0E57_2EE3_E5C0_FFEE)
        self.clusters = SeededGenerator(seed: seed ^ 0x0C1A_57E2_5EED_0001)
    }

    // MARK: Random helpers

    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(rng.next() % UInt64(range.count))
    }

    private mutating func chance(_ p: Double) -> Bool { rng.nextUnit() < p }

    private mutating func pick<T>(_ options: [T]) -> T { options[int(0...(options.count - 1))] }

    // MARK: Case

    /// Generates the case for this generator's seed.
    mutating func generate() -> GeneratedCase {
        // Block shapes: small equal and unequal pairs, and the awkward ratios of real
        // schedules (48/80, 16/128) on longer sequences.
        let large = chance(0.15)
        if large {
            (br, bc) = pick([(48, 80), (16, 128), (128, 16), (80, 48), (128, 128), (64, 32)])
        } else {
            (br, bc) = pick([(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (8, 8), (3, 5), (5, 3), (2, 16), (16, 2), (1, 8), (4, 6), (6, 4), (7, 3), (2, 3)])
        }
        let kvHeads = pick([1, 1, 2])
        let group = pick([1, 1, 2, 3])
        let batch = large ? 1 : pick([1, 1, 2])
        let heads = kvHeads * group
        let d = pick([2, 3, 4, 8, 16])
        let n = large ? int(1...300) : int(1...32)
        let nkv: Int
        switch int(0...3) {
        case 0: nkv = n + int(1...(large ? 200 : 20))
        case 1: nkv = max(1, n - int(0...(large ? 100 : 10)))
        default: nkv = n
        }
        let shape = ProblemShape(batch: batch, heads: heads, kvHeads: kvHeads, queryLength: n, keyLength: nkv, headDim: d)
        queryBlocks = (n + br - 1) / br

        var hardware = TestSupport.h100
        if chance(0.2) {
            hardware.sharedMemoryBytesPerBlock = pick([512, 2048, 8192])
            hardware.registersPerBlock = pick([256, 1024, 4096])
        }

        lines = []
        header()
        let kernels = int(1...3)
        for index in 0..<kernels {
            switch int(0...7) {
            case 7: maskGridKernel(index)
            case 0, 1: attentionKernel(index)
            case 6: backwardKernel(index)
            case 2: rowwiseKernel(index)
            case 3: twoPassKernels(index)
            case 4: splitKernels(index)
            default: groupedKernel(index)
            }
        }
        let dtype = pick([DType.fp32, .fp32, .fp16, .bf16])
        return GeneratedCase(seed: seed, source: lines.joined(separator: "\n") + "\n", shape: shape, dtype: dtype, hardware: hardware)
    }

    private mutating func emit(_ line: String, _ indent: Int = 0) {
        lines.append(String(repeating: "  ", count: indent) + line)
    }

    private mutating func header() {
        emit("about \"generated differential case \(seed)\"")
        emit("param Br = \(br)")
        emit("param Bc = \(bc)")
        emit("param W = \(int(1...(2 * max(br, bc) + 3)))")
        emit("param S = \(int(1...4))")
        emit("param G = heads / kv_heads")
        emit("input  Q[batch * heads, N, d]")
        emit("input  K[batch * kv_heads, Nkv, d]")
        emit("input  V[batch * kv_heads, Nkv, d]")
        emit("input  Qg[batch * kv_heads, G, N, d]")
        emit("output O[batch * heads, N, d]")
        emit("output L[batch * heads, N] fp32")
        emit("output Og[batch * kv_heads, G, N, d]")
        emit("output Lg[batch * kv_heads, G, N] fp32")
        emit("output DK[batch * heads, Nkv, d]")
        emit("temp   T[batch * heads, N, Nkv]")
        emit("temp   P[S, batch * heads, N, d] fp32")
        emit("temp   PL[S, batch * heads, N] fp32")
    }

    /// A grid with a query-block axis `i` and the head reached one of several ways; emits
    /// the `kernel` line and the lines that define `bh` and `kvh`.
    private mutating func headedGrid(_ name: String, extra: String = "") {
        // Sometimes one more axis the body never reads (empty when N % 3 == 0: no block runs).
        let extra = extra + (chance(0.1) ? ", e: \(pick(["N % 3", "2", "kv_heads"]))" : "")
        let threads = chance(0.15) ? " threads(\(pick([32, 64, 256])))" : ""
        switch int(0...3) {
        case 0:
            emit("kernel \(name) grid(bh: batch * heads, i: cdiv(N, Br)\(extra))\(threads):")
            emit("kvh = (bh / heads) * kv_heads + (bh % heads) / G", 1)
        case 1:
            emit("kernel \(name) grid(b: batch, h: heads, i: cdiv(N, Br)\(extra))\(threads):")
            emit("bh = b * heads + h", 1)
            emit("kvh = b * kv_heads + h / G", 1)
        case 2:
            emit("kernel \(name) grid(i: cdiv(N, Br), bh: batch * heads\(extra))\(threads):")
            emit("kvh = bh / G", 1)
        default:
            // A head axis of the grid under the query-block axis, batch folded in.
            emit("kernel \(name) grid(h: heads, i: cdiv(N, Br), b: batch\(extra))\(threads):")
            emit("bh = b * heads + h", 1)
            emit("kvh = b * kv_heads + h / G", 1)
        }
    }

    /// The key-block loop bounds of a query block: full, causal (exact or the simple
    /// `i + 1`, which overruns K when there are more query blocks than key blocks), or
    /// a window (by blocks or by positions).
    private mutating func keyLoopBounds() -> (String, String) {
        switch int(0...6) {
        case 0: return ("0", "cdiv(Nkv, Bc)")
        case 1: return ("0", "min(cdiv(Nkv, Bc), (qpos + rn - 1) / Bc + 1)")
        case 2: return ("0", "i + 1")
        case 3: return ("max(0, i - \(int(0...3)))", "i + 1")
        case 4: return ("max(0, (qpos - W + 1) / Bc)", "min(cdiv(Nkv, Bc), (qpos + rn - 1) / Bc + 1)")
        case 5: return ("i / \(int(1...3))", "min(cdiv(Nkv, Bc), i + \(int(1...3)))")
        default: return ("0", "min(cdiv(Nkv, Bc), \(int(1...3)) * i + \(int(0...2)))")
        }
    }

    /// A key block slice: `rows`, or the same positions as a range (ragged at the end).
    private mutating func keySlice(_ j: String) -> String {
        chance(0.7) ? "rows(\(j), Bc)" : "\(j) * Bc ..< min(Nkv, (\(j) + 1) * Bc)"
    }

    /// Masks the score tile `s` of key block `j` (some blocks, all blocks or none).
    private mutating func maskScores(_ j: String, _ indent: Int, period: String = "") {
        let offset = chance(0.3) ? " + \(int(-3...3))" : ""
        let causal = "s = mask_causal(s, qpos\(offset), \(j) * Bc\(period))"
        let window = "s = mask_window(s, qpos\(offset), \(j) * Bc, W\(period))"
        switch int(0...4) {
        case 0: break
        case 1:
            emit("if (\(j) + 1) * Bc - 1 > qpos:", indent)
            emit(causal, indent + 1)
        case 2:
            emit("if (\(j) + 1) * Bc - 1 > qpos:", indent)
            emit(causal, indent + 1)
            emit("elif \(j) * Bc <= qpos + rn - 1 - W:", indent)
            emit(window, indent + 1)
            emit("else:", indent)
            emit("s = s * 1.0", indent + 1)
        case 3: emit(window, indent)
        default:
            emit("if \(j) == i:", indent)
            emit(causal, indent + 1)
            emit("elif \(j) < i - \(int(0...2)):", indent)
            emit(window, indent + 1)
        }
    }

    /// The online-softmax update of the carried `m`, `l`, `o` from scores `s` and values `v`.
    private mutating func onlineSoftmax(_ indent: Int) {
        emit("m2 = max(max(m, rowmax(s)), -1e30)", indent)
        emit("p = exp(s - m2)", indent)
        emit("a = exp(m - m2)", indent)
        emit("l = a * l + rowsum(p)", indent)
        emit("o = a * o + p @ v", indent)
        emit("m = m2", indent)
    }

    /// FlashAttention-2 style: one block per (head, query block), K/V streamed over a
    /// key-block loop with bounds affine in the grid axes, O and L stored once.
    private mutating func attentionKernel(_ index: Int) {
        let kernelLine = lines.count
        headedGrid("attn\(index)")
        let level = pick(["sram", "sram", "reg"])
        queryBlock("q = load Q[bh, rows(i, Br), :] -> \(level)", 1)
        emit("o = zeros(rn, d)", 1)
        emit("m = full(rn, -inf)", 1)
        emit("l = zeros(rn)", 1)
        let (lo, hi) = keyLoopBounds()
        // Sometimes the whole loop only on some blocks or heads.
        var top = 1
        if chance(0.15) {
            emit("if \(pick(["i % 2 == 0", "bh == 0", "i < \(int(1...4))", "kvh == bh / G and i != 1"])):", 1)
            top = 2
        }
        emit("for j in \(lo) ..< \(hi):", top)
        var body = top + 1
        switch int(0...9) {
        case 0, 1, 2:
            emit("if j * Bc <= qpos + rn - 1:", body)
            body += 1
        case 3:
            emit("if \(blockMaskCondition()):", body)
            body += 1
        default: break
        }
        let loadLines = lines.count
        emit("k = load K[kvh, \(keySlice("j")), :] -> sram", body)
        emit("v = load V[kvh, \(keySlice("j")), :] -> sram", body)
        if lo == "0", hi == "cdiv(Nkv, Bc)", body == 2 {
            multicastOverQueryBlocks(kernelLine: kernelLine, loadLines: loadLines ..< loadLines + 2)
        }
        emit("s = (q @ k^T) * scale", body)
        maskScores("j", body)
        if chance(0.2) {
            // A nested loop whose trip count depends on both the block and the key block.
            emit("for u in \(pick(["j", "0", "max(0, j - 1)"])) ..< \(pick(["i + 1", "i + 2", "min(i, 3) + 1"])):", body)
            emit("s = s * 0.5", body + 1)
        }
        onlineSoftmax(body)
        emit("store O[bh, rows(i, Br), :] = o / l", 1)
        if chance(0.6) { emit("store L[bh, rows(i, Br)] = m + log(l)", 1) }
    }

    /// Now and then (from `clusters`), a kernel whose every query block walks all key
    /// blocks with no condition around its loads becomes a cluster of consecutive query
    /// blocks that share each K and V tile by TMA multicast: `cluster(i: n)` on the kernel
    /// line (n dividing the query blocks, so the grid is whole clusters) and `multicast(i)`
    /// on both loads. Compressed, exhaustive and numeric runs must agree on it as on the
    /// plain loads (the multicast share of the bytes is a counter of its own).
    private mutating func multicastOverQueryBlocks(kernelLine: Int, loadLines: Range<Int>) {
        guard clusters.nextUnit() < 0.8 else { return }
        let sizes = (1...4).filter { queryBlocks % $0 == 0 }
        let size = sizes[Int(clusters.next() % UInt64(sizes.count))]
        guard lines[kernelLine].hasSuffix(":") else { return }
        lines[kernelLine] = String(lines[kernelLine].dropLast()) + " cluster(i: \(size)):"
        for index in loadLines { lines[index] += " multicast(i)" }
    }

    /// Standard attention's mask build: a 2-D grid of query and key tiles (in either
    /// order, sometimes under a head axis), each masking a tile with a causal or window
    /// mask once, outside any loop; the tiles' offsets differ by block, and the last row
    /// and column of tiles may be ragged (the mask-band proof, `countsAreBanded`).
    private mutating func maskGridKernel(_ index: Int) {
        let axes = pick(["i: cdiv(N, Br), j: cdiv(Nkv, Bc)", "j: cdiv(Nkv, Bc), i: cdiv(N, Br)", "bh: batch * heads, i: cdiv(N, Br), j: cdiv(Nkv, Bc)"])
        emit("kernel band\(index) grid(\(axes)):")
        emit("rn = min(Br, N - i * Br)", 1)
        emit("cn = min(Bc, Nkv - j * Bc)", 1)
        let query = pick(["i * Br", "i * Br + Nkv - N", "i * Br + \(int(-3...3))"])
        let period = chance(0.3) ? ", \(int(1...4))" : ""
        let mask = chance(0.5)
            ? "mask_causal(zeros(rn, cn), \(query), j * Bc\(period))"
            : "mask_window(zeros(rn, cn), \(query), j * Bc, W\(period))"
        emit("store T[\(axes.hasPrefix("bh") ? "bh" : "0"), rows(i, Br), cols(j, Bc)] = \(mask)", 1)
    }

    /// A block-sparse test of key block j for query block i: local + strided or random
    /// patterns of several densities, read by tile index or through mask blocks of S
    /// positions (S a multiple of Br and Bc: mask row i Br / S, column j Bc / S), as flash2
    /// reads them when Br != Bc.
    private mutating func blockMaskCondition() -> String {
        let pattern = pick([1, 1, 2, 2])
        let settings = "\(pattern), \(int(1...3)), \(pick([0, 0, 2, 3, 7])), \(pick([0, 250, 500, 900, 1000])), \(int(1...9))"
        guard chance(0.5) else { return "block_mask(i, j, \(settings))" }
        let size = br * bc / gcd(br, bc) * pick([1, 1, 2])
        return "block_mask(i * Br / \(size), j * Bc / \(size), \(settings))"
    }

    private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// A causal backward-style pass: one block per (head, key block), a query-block loop
    /// from the key block's diagonal down (lower bound affine in the grid axis, the
    /// straddling blocks first), `p^T @ q` accumulated into carried tiles.
    private mutating func backwardKernel(_ index: Int) {
        let threads = chance(0.2) ? " threads(256)" : ""
        if chance(0.5) {
            emit("kernel bwd\(index) grid(bh: batch * heads, j: cdiv(Nkv, Bc))\(threads):")
        } else {
            emit("kernel bwd\(index) grid(j: cdiv(Nkv, Bc), bh: batch * heads)\(threads):")
        }
        emit("kvh = (bh / heads) * kv_heads + (bh % heads) / G", 1)
        emit("k = load K[kvh, \(keySlice("j")), :] -> sram", 1)
        emit("v = load V[kvh, rows(j, Bc), :] -> \(pick(["sram", "reg"]))", 1)
        emit("cn = min(Bc, Nkv - j * Bc)", 1)
        emit("kpos = j * Bc - (Nkv - N)", 1)
        emit("dk = zeros(cn, d)", 1)
        emit("dv = zeros(cn, d)", 1)
        let lo = pick(["max(0, kpos / Br)", "(j * Bc) / Br", "j * \(int(1...2))", "max(0, kpos / Br - \(int(1...2)))"])
        let hi = pick(["cdiv(N, Br)", "cdiv(N, Br)", "min(cdiv(N, Br), j + \(int(2...5)))"])
        emit("for i in \(lo) ..< \(hi):", 1)
        queryBlock("q = load Q[bh, rows(i, Br), :] -> sram", 2)
        emit("s = (q @ k^T) * scale", 2)
        maskScores("j", 2)
        emit("p = exp(s - max(rowmax(s), -1e30))", 2)
        emit("dv = dv + p^T @ q", 2)
        if chance(0.5) { emit("dk = dk + (p^T @ q) * 0.5", 2) }
        emit("store DK[bh, rows(j, Bc), :] = dk + dv", 1)
    }

    /// The query block every attention-like kernel starts with: `load` (the Q tile), its
    /// row count `rn` (ragged at the end) and `qpos`, the key position of its first query.
    private mutating func queryBlock(_ load: String, _ indent: Int) {
        emit(load, indent)
        emit("rn = min(Br, N - i * Br)", indent)
        emit("qpos = i * Br + Nkv - N", indent)
    }

    /// Standard attention in two kernels: scores of every (query block, key block) pair
    /// into the temp T (`cols` slices, ragged), then a row softmax over whole rows.
    private mutating func twoPassKernels(_ index: Int) {
        headedGrid("scores\(index)", extra: ", j: cdiv(Nkv, Bc)")
        queryBlock("q = load Q[bh, rows(i, Br), :] -> sram", 1)
        emit("k = load K[kvh, \(keySlice("j")), :] -> sram", 1)
        emit("s = (q @ k^T) * scale", 1)
        maskScores("j", 1)
        if chance(0.3) {
            emit("if j * Bc > qpos + rn - 1 + \(int(0...2)):", 1)
            emit("s = s * 0.0", 2)
        }
        emit("store T[bh, rows(i, Br), cols(j, Bc)] = s", 1)
        headedGrid("softmax\(index)")
        emit("s = load T[bh, rows(i, Br), :] -> \(pick(["sram", "reg"]))", 1)
        emit("v = load V[kvh, :, :] -> sram", 1)
        emit("p = exp(s - rowmax(s))", 1)
        emit("store O[bh, rows(i, Br), :] = (p @ v) / rowsum(p)", 1)
    }

    /// Split-KV (flash-decoding style): a split axis whose key range
    /// `s0 * chunk ..< min(blocks, (s0 + 1) * chunk)` has a lower bound depending on the
    /// axis, partial results to temps, then a combine kernel looping over the splits.
    private mutating func splitKernels(_ index: Int) {
        headedGrid("split\(index)", extra: ", s0: S")
        queryBlock("q = load Q[bh, rows(i, Br), :] -> sram", 1)
        emit("chunk = cdiv(cdiv(Nkv, Bc), S)", 1)
        emit("o = zeros(rn, d)", 1)
        emit("m = full(rn, -inf)", 1)
        emit("l = zeros(rn)", 1)
        let hi = chance(0.5) ? "min(cdiv(Nkv, Bc), (s0 + 1) * chunk)" : "min(min(cdiv(Nkv, Bc), (s0 + 1) * chunk), (qpos + rn - 1) / Bc + 1)"
        emit("for j in s0 * chunk ..< \(hi):", 1)
        emit("k = load K[kvh, \(keySlice("j")), :] -> sram", 2)
        emit("v = load V[kvh, \(keySlice("j")), :] -> sram", 2)
        emit("s = (q @ k^T) * scale", 2)
        maskScores("j", 2)
        onlineSoftmax(2)
        emit("store P[s0, bh, rows(i, Br), :] = o", 1)
        emit("store PL[s0, bh, rows(i, Br)] = m + log(l)", 1)
        headedGrid("combine\(index)")
        emit("rn = min(Br, N - i * Br)", 1)
        emit("acc = zeros(rn, d)", 1)
        emit("total = zeros(rn)", 1)
        emit("for t in 0 ..< S:", 1)
        emit("part = load P[t, bh, rows(i, Br), :] -> reg", 2)
        emit("lse = load PL[t, bh, rows(i, Br)] -> reg", 2)
        emit("acc = acc + part * exp(lse)", 2)
        emit("total = total + exp(lse)", 2)
        emit("store O[bh, rows(i, Br), :] = acc / total", 1)
    }

    /// GQA with the query heads of a group stacked: a (G x Br) x d tile per key-value
    /// head, masks with period rn.
    private mutating func groupedKernel(_ index: Int) {
        let threads = chance(0.2) ? " threads(64)" : ""
        emit("kernel grouped\(index) grid(bkv: batch * kv_heads, i: cdiv(N, Br))\(threads):", 0)
        queryBlock("q = load Qg[bkv, :, rows(i, Br), :] -> sram", 1)
        emit("o = zeros(G * rn, d)", 1)
        emit("m = full(G * rn, -inf)", 1)
        emit("l = zeros(G * rn)", 1)
        let (lo, hi) = keyLoopBounds()
        emit("for j in \(lo) ..< \(hi):", 1)
        emit("k = load K[bkv, \(keySlice("j")), :] -> sram", 2)
        emit("v = load V[bkv, \(keySlice("j")), :] -> sram", 2)
        emit("s = (q @ k^T) * scale", 2)
        maskScores("j", 2, period: ", rn")
        onlineSoftmax(2)
        emit("store Og[bkv, :, rows(i, Br), :] = o / l", 1)
        if chance(0.5) { emit("store Lg[bkv, :, rows(i, Br)] = m + log(l)", 1) }
    }

    // MARK: Row-wise kernels with free-form bodies

    /// A kernel over query blocks whose body is a random nest of loops (bounds affine in
    /// the grid axis and outer loop variables), `if` / `elif` / `else` on block indices,
    /// carried tiles, an integer counter, `col` and masks.
    private mutating func rowwiseKernel(_ index: Int) {
        let headed = chance(0.6)
        if headed {
            headedGrid("rows\(index)")
        } else {
            emit("kernel rows\(index) grid(i: cdiv(N, Br)):")
            emit("bh = 0", 1)
            emit("kvh = 0", 1)
        }
        emit("x = load Q[bh, rows(i, Br), :] -> \(pick(["sram", "reg"]))", 1)
        emit("rn = min(Br, N - i * Br)", 1)
        emit("r = rowsum(x)", 1)
        emit("c = 0", 1)
        statements(depth: 0, indent: 1, loopVars: ["i"], count: int(1...3))
        emit("store O[bh, rows(i, Br), :] = x", 1)
        switch int(0...3) {
        case 0: emit("store L[bh, rows(i, Br)] = col(x, min(c, d - 1))", 1)
        case 1: emit("store L[bh, rows(i, Br)] = col(x, c)", 1)
        default: emit("store L[bh, rows(i, Br)] = r", 1)
        }
    }

    private mutating func affineBound(_ vars: [String]) -> (String, String) {
        let v = pick(vars)
        switch int(0...6) {
        case 0: return ("0", "\(v) + 1")
        case 1: return ("max(0, \(v) - \(int(0...3)))", "\(v) + 1")
        case 2: return (v, "\(v) + \(int(1...3))")
        case 3: return ("0", "min(\(int(1...4)), rn)")
        case 4: return ("\(v) % 2", "\(int(1...4))")
        case 5: return ("0", "cdiv(Nkv, Bc) - \(v)")
        default: return ("\(v) / 2", "\(v) + \(int(0...2))")
        }
    }

    private mutating func condition(_ vars: [String]) -> String {
        let v = pick(vars)
        let w = pick(vars)
        switch int(0...6) {
        case 0: return "\(v) % 2 == 0"
        case 1: return "\(v) < \(int(0...4))"
        case 2: return "\(v) + \(w) > \(int(1...6))"
        case 3: return "i * Br + rn >= N"
        case 4: return "\(v) == \(w)"
        case 5: return "(\(v) + 1) * Bc - 1 > i * Br"
        default: return "\(v) >= \(int(1...3)) and \(w) < \(int(2...6))"
        }
    }

    /// Sometimes (10%) a statement with extreme constants, in a rowwise kernel's body: `x`
    /// is its 2-D tile, `v` one of the loop variables in scope. Overflows are in sizes,
    /// positions of masks and rotations, integer assignments and loop bounds — integers
    /// every mode computes — or constant wherever they are.
    private mutating func extremeStatement(indent: Int, loopVars: [String]) {
        guard extremes.nextUnit() < 0.1 else { return }
        let v = loopVars[Int(extremes.next() % UInt64(loopVars.count))]
        let e = "e\(extremeCount)"
        extremeCount += 1
        let max = "9223372036854775807", min = "(-9223372036854775807 - 1)"
        let statements = [
            // Past 64 bits everywhere.
            ["\(e) = zeros(4611686018427387904, 4611686018427387904)"],
            ["\(e) = full(\(max), 0.5)"],
            ["x = mask_causal(x, \(max), -\(max))"],
            ["\(e) = rope_cos(\(max), 2, 2, 10000.0, 0, 1.0, 4096)"],
            ["x = alibi(x, -\(max), \(max), 0.5)"],
            ["\(e) = \(max) + 1"],
            ["for \(e) in \(min) ..< \(max):", "  x = x * 0.5"],
            // Past 64 bits on some blocks or iterations only.
            ["\(e) = 3074457345618258602 * (\(v) + 1)"],
            ["x = mask_causal(x, \(max) - \(v), 0)"],
            ["x = mask_window(x, \(min), \(v), W)"],
            // Extremes that fit.
            ["x = mask_causal(x, \(min), \(v))"],
            ["\(e) = \(max) - \(v)"],
            ["for \(e) in \(max) - 1 ..< \(max):", "  x = x * 0.5 + 1"],
            ["if block_mask(\(v), \(max), 1, 2, 3, 250, 1):", "  x = x * 0.5"],
        ]
        for line in statements[Int(extremes.next() % UInt64(statements.count))] {
            emit(line.hasPrefix("  ") ? String(line.dropFirst(2)) : line, line.hasPrefix("  ") ? indent + 1 : indent)
        }
    }

    private mutating func statements(depth: Int, indent: Int, loopVars: [String], count: Int) {
        for _ in 0..<count {
            extremeStatement(indent: indent, loopVars: loopVars)
            let roll = int(0...(depth < 2 ? 14 : 10))
            let v = pick(loopVars)
            switch roll {
            case 0: emit("x = x * 0.5 + 1", indent)
            case 1: emit("r = r + rowmax(x)", indent)
            case 2: emit("r = r + col(x, \(pick(["min(\(v), d - 1)", "\(v) % d", v])))", indent)
            case 3: emit("x = x - r", indent)
            case 4:
                emit("t = x @ x^T", indent)
                emit("r = r + rowsum(t)", indent)
            case 5: emit("x = mask_causal(x, i * Br\(chance(0.5) ? " + \(int(-2...2))" : ""), \(v))", indent)
            case 6: emit("x = mask_window(x, i * Br, \(v) * \(int(1...2)), W)", indent)
            case 7: emit("c = c + 1", indent)
            case 8:
                let slice = pick(["cols(\(v), Bc)", "\(v) % d ..< d", "rows(\(v), Bc)"])
                if slice.hasPrefix("rows") {
                    emit("z = load K[kvh, \(slice), :] -> sram", indent)
                    emit("r = r + rowsum(x @ z^T)", indent)
                } else {
                    emit("z = load Q[bh, rows(i, Br), \(slice)] -> sram", indent)
                    emit("r = r + rowsum(z)", indent)
                }
            case 9:
                // A slice that grows with the block or loop index: capacity and bounds
                // that fail on some blocks only.
                emit("z = load K[kvh, 0 ..< min(Nkv, (\(v) + 1) * Bc), :] -> sram", indent)
                emit("r = r + rowsum(x @ z^T)", indent)
            case 10:
                emit("u = full(rn, \(v) + 1, 0.5)", indent)
                emit("r = r + rowsum(u)", indent)
            case 11, 12:
                let name = "j\(depth)"
                let (lo, hi) = affineBound(loopVars)
                emit("for \(name) in \(lo) ..< \(hi):", indent)
                statements(depth: depth + 1, indent: indent + 1, loopVars: loopVars + [name], count: int(1...3))
            default:
                emit("if \(condition(loopVars)):", indent)
                statements(depth: depth + 1, indent: indent + 1, loopVars: loopVars, count: int(1...2))
                if chance(0.5) {
                    emit("elif \(condition(loopVars)):", indent)
                    statements(depth: depth + 1, indent: indent + 1, loopVars: loopVars, count: 1)
                }
                if chance(0.5) {
                    emit("else:", indent)
                    statements(depth: depth + 1, indent: indent + 1, loopVars: loopVars, count: 1)
                }
            }
        }
    }
}
