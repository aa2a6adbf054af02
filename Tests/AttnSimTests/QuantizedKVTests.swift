import Foundation
import Testing
import AttnCLI
import AttnNumerics
import TileInterpreter
@testable import KVCache
import AttnTestSupport
import TileTestSupport

/// Quantized KV caches: exact FP8 rounding (E4M3, E5M2) and the bytes of int8/int4
/// caches with their scales and zero points.
@Suite struct QuantizedKVTests {
    /// Hand-derived roundings. E4M3: 3 mantissa bits, quantum 2^-3 in [1, 2), smallest
    /// subnormal 2^-9, largest 448. E5M2: 2 mantissa bits, quantum 2^-2 in [1, 2),
    /// smallest subnormal 2^-16, largest 57,344. Ties go to the even mantissa.
    @Test(arguments: [
        (FP8Format.e4m3, Float(1), Float(1)),
        (.e4m3, 1.0625, 1),            // halfway between 1 (000) and 1.125 (001): even
        (.e4m3, 1.1875, 1.25),         // halfway between 1.125 (001) and 1.25 (010): even
        (.e4m3, 0.3, 0.3125),          // quantum 2^-5 in [0.25, 0.5): 9.6 -> 10
        (.e4m3, 448, 448),
        (.e4m3, 460, 448),             // quantum 32 in [256, 512): 14.375 -> 14
        (.e4m3, 500, 448),             // rounds to 512, saturates
        (.e4m3, 1e6, 448),
        (.e4m3, 0x1p-7, 0x1p-7),       // subnormal, exact
        (.e4m3, 0x1p-10, 0),           // half the smallest subnormal: ties to 0
        (.e4m3, 0x1.8p-10, 0x1p-9),    // 0.75 of the smallest subnormal
        (.e5m2, 1.1, 1),
        (.e5m2, 1.125, 1),             // halfway between 1 (00) and 1.25 (01): even
        (.e5m2, 1.375, 1.5),           // halfway between 1.25 (01) and 1.5 (10): even
        (.e5m2, 60000, 57344),         // quantum 8192 in [32768, 65536): 7.32 -> 7
        (.e5m2, 61440, 57344),         // 7.5 -> 8 = 65536, saturates
        (.e5m2, 0x1p-17, 0),
        (.e5m2, 0x1p-15, 0x1p-15),
    ])
    func fp8RoundsToNearestEven(_ format: FP8Format, _ input: Float, _ expected: Float) {
        #expect(format.round(input) == expected)
        #expect(format.round(-input) == -expected)
    }

    @Test func fp8RoundingIsIdempotentAndWithinUnitRoundoff() {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<2000 {
            let x = Float(generator.nextNormal() * 8)
            for format in FP8Format.allCases {
                let r = format.round(x)
                #expect(format.round(r) == r)
                // In the normal range the relative error is at most u; below it, half the
                // subnormal quantum.
                let normal = Float(sign: .plus, exponent: format.minExponent, significand: 1)
                let bound = x.magnitude >= normal ? format.unitRoundoff * Double(x.magnitude)
                    : Double(Float(sign: .plus, exponent: format.minExponent - format.mantissaBits - 1, significand: 1))
                #expect(abs(Double(r) - Double(x)) <= bound, "\(format) \(x) -> \(r)")
            }
        }
        #expect(FP8Format.e4m3.round(.nan).isNaN)
        #expect(FP8Format.e5m2.round(-.infinity) == -57344)
        // Every E4M3 value is one of 2 x 127 finite codes minus the duplicated zero: the
        // positive grid from 2^-9 to 448 has 126 values.
        var values = Set<Float>()
        var x: Float = 0x1p-10
        while x < 500 {
            values.insert(FP8Format.e4m3.round(x))
            x *= 1.001
        }
        #expect(values.subtracting([0]).count == 126)
    }

    /// FP8 is a storage dtype of program tensors: a decode kernel reading an E4M3 (or
    /// E5M2) K/V cache moves one byte per element, dequantizes on chip (arithmetic is
    /// fp32), and passes its check against float64 attention over the rounded cache.
    @Test(arguments: [DType.fp8e4m3, .fp8e5m2])
    func fp8CacheReadByAKernel(_ cache: DType) throws {
        let source = """
            param Bc = 16
            input  Q[batch * heads, N, d]
            input  K[batch * kv_heads, Nkv, d] \(cache.rawValue)
            input  V[batch * kv_heads, Nkv, d] \(cache.rawValue)
            output O[batch * heads, N, d]
            check O = attention(Q, K, V)
            kernel decode grid(bh: batch * heads):
              kvh = (bh / heads) * kv_heads + (bh % heads) / (heads / kv_heads)
              q = load Q[bh, :, :] -> sram
              o = zeros(N, d)
              m = full(N, -inf)
              l = zeros(N)
              for j in 0 ..< cdiv(Nkv, Bc):
                k = load K[kvh, rows(j, Bc), :] -> sram
                v = load V[kvh, rows(j, Bc), :] -> sram
                s = (q @ k^T) * scale
                m2 = max(m, rowmax(s))
                p = exp(s - m2)
                a = exp(m - m2)
                l = a * l + rowsum(p)
                o = a * o + p @ v
                m = m2
              store O[bh, :, :] = o / l
            """
        let shape = ProblemShape(batch: 2, heads: 4, kvHeads: 2, queryLength: 1, keyLength: 37, headDim: 16)
        let bound = try TestSupport.bindSource(source, shape, dtype: .fp16)
        // Q and O at 2 bytes: 8 x 16 x 2 each; K and V at 1 byte, once per query head:
        // 8 x 37 x 16 x 2.
        let t = try TestSupport.count(bound).total
        #expect(t.hbmReadBytes == 8 * 16 * 2 + 8 * 37 * 16 * 2)
        #expect(t.hbmWriteBytes == 8 * 16 * 2)
        let result = try TestSupport.numeric(bound)
        #expect(result.checks.count == 1)
        // The inputs are rounded to fp8 before the reference sees them: the error is fp16's.
        #expect((result.checks.first?.error.maxRelativeError ?? 1) < 4e-3)
    }

    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Llama-2-7B (32 layers, 32 KV heads, head_dim 128), bytes per token:
    /// int8 per token 2 x 32 x 32 x (128 + 4) = 270,336; int4 in groups of 64
    /// 2 x 32 x 32 x (64 + 2 x 4) = 147,456; int8 in groups of 32 2 x 32 x 32 x (128 + 16)
    /// = 294,912; fp8 (either format) 262,144.
    @Test(arguments: [
        (["--dtype", "int8"], "int8-token", 270_336),
        (["--dtype", "int4"], "int4-g64", 147_456),
        (["--dtype", "int8", "--quant-group", "32"], "int8-g32", 294_912),
        (["--dtype", "int4", "--int4-group", "128"], "int4-g128", 2 * 32 * 32 * (64 + 4)),
        (["--dtype", "int4", "--quant-group", "token"], "int4-token", 2 * 32 * 32 * (64 + 4)),
        (["--dtype", "fp8"], "fp8e4m3", 262_144),
        (["--dtype", "fp8-e5m2"], "fp8e5m2", 262_144),
        (["--dtype", "fp8e5m2"], "fp8e5m2", 262_144),
    ])
    func kvBytesPerTokenByDType(_ options: [String], _ name: String, _ expected: Int) {
        let result = run(["kv", "--model", "llama-2-7b", "--context", "4k", "--format", "csv"] + options)
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out.contains(",\(name),\(expected),"), "\(result.out)")
    }

    @Test func quantGroupUsageErrors() {
        #expect(run(["kv", "--model", "llama-2-7b", "--context", "4k", "--quant-group", "32"]).code == 64)
        #expect(run(["kv", "--model", "llama-2-7b", "--context", "4k", "--dtype", "fp16", "--quant-group", "32"]).code == 64)
        #expect(run(["kv", "--model", "llama-2-7b", "--context", "4k", "--dtype", "int8", "--quant-group", "0"]).code == 64)
        #expect(run(["kv", "--model", "llama-2-7b", "--context", "4k", "--dtype", "int4", "--quant-group", "8", "--int4-group", "8"]).code == 64)
        let bad = run(["kv", "--model", "llama-2-7b", "--context", "4k", "--dtype", "int2"])
        #expect(bad.code == 64)
        #expect(bad.err.contains("'--dtype' expects fp32, fp16, bf16, fp8 (= fp8e4m3), fp8e5m2, int8, int4, nvfp4 or mxfp4, found 'int2'"))
    }
}
