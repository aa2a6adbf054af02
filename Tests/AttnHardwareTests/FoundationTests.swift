import Testing
import AttnHardware
import AttnJSON
import AttnNumerics

/// Storage rounding, hardware profiles and the JSON reader.
@Suite struct FoundationTests {
    /// Round-to-nearest-even at the storage precision: ties go to the even neighbour.
    @Test(arguments: [
        // fp16 has 10 fraction bits: spacing 2^-10 just above 1.
        (DType.fp16, Float(1 + 0x1p-11), Float(1)),                   // tie -> even (1)
        (DType.fp16, Float(1 + 3 * 0x1p-11), Float(1 + 0x1p-9)),      // tie -> even (1 + 2^-9)
        (DType.fp16, Float(1 + 0x1p-11 + 0x1p-20), Float(1 + 0x1p-10)),// above the tie
        (DType.fp16, Float(65520), Float.infinity),                   // midpoint of 65504 and 2^16 -> even -> overflow
        (DType.fp16, Float(65519), Float(65504)),
        (DType.fp16, Float(0x1p-25), Float(0)),                        // half the smallest subnormal -> even (0)
        // bf16 has 7 fraction bits: spacing 2^-7 just above 1.
        (DType.bf16, Float(1 + 0x1p-8), Float(1)),
        (DType.bf16, Float(1 + 3 * 0x1p-8), Float(1 + 0x1p-6)),
        (DType.bf16, Float(1 + 0x1p-8 + 0x1p-20), Float(1 + 0x1p-7)),
        (DType.bf16, Float(-3.14159265), Float(-3.140625)),
        (DType.bf16, Float.infinity, Float.infinity),
        (DType.fp32, Float(1 + 0x1p-23), Float(1 + 0x1p-23)),
    ])
    func roundToNearestEven(_ dtype: DType, _ input: Float, _ expected: Float) {
        #expect(dtype.round(input) == expected)
        #expect(dtype.round(-input) == -expected)
    }

    @Test func roundingIsIdempotentAndNaNStaysNaN() {
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<1000 {
            let x = Float(generator.nextNormal() * 100)
            // u8 holds codes: it rounds to an integer in 0 ... 255 (QuantizedKVKernelTests); FP4
            // saturates at 6, far inside this range (GPUProfileTests); E8M0 has no sign
            // (MXFP4's scales, `e8m0RoundsToThePowerOfTwo`).
            for dtype in DType.allCases where dtype != .u8 && dtype != .fp4e2m1 && dtype != .e8m0 {
                let r = dtype.round(x)
                #expect(dtype.round(r) == r)
                #expect(abs(Double(r) - Double(x)) <= dtype.unitRoundoff * abs(Double(x)) + 1e-30)
            }
        }
        #expect(DType.bf16.round(.nan).isNaN)
        #expect(DType.fp16.round(.nan).isNaN)
    }

    /// E8M0 (MXFP4's block scale, OCP MX v1.0): the nearest power of two of |x|, ties at
    /// 1.5 x 2^e up, from 2^-127 (also for 0) to 2^127 (also past it); within 1/3 of |x|.
    @Test(arguments: [
        (Float(1), Float(1)), (Float(1.4), Float(1)), (Float(1.5), Float(2)), (Float(3), Float(4)), (Float(2.9), Float(2)),
        (Float(-5), Float(4)), (Float(0.3), Float(0.25)), (Float(0), Float(sign: .plus, exponent: -127, significand: 1)),
        (Float(3e38), Float(sign: .plus, exponent: 127, significand: 1)), (Float.infinity, Float(sign: .plus, exponent: 127, significand: 1)),
    ])
    func e8m0RoundsToThePowerOfTwo(_ input: Float, _ expected: Float) {
        let r = DType.e8m0.round(input)
        #expect(r == expected)
        #expect(DType.e8m0.round(r) == r)
        if input != 0 && input.isFinite && input.magnitude < 1e38 {
            #expect(abs(Double(r) - Double(input.magnitude)) <= DType.e8m0.unitRoundoff * Double(input.magnitude))
        }
        #expect(DType.e8m0.round(.nan).isNaN)
    }

    /// Skipping ahead lands where drawing one by one does, for short and long skips.
    @Test(arguments: [0, 1, 7, 1_000, 123_457])
    func generatorSkipMatchesDraws(_ draws: Int) {
        var drawn = SeededGenerator(seed: 42), skipped = SeededGenerator(seed: 42)
        for _ in 0..<draws { _ = drawn.next() }
        skipped.skip(UInt64(draws))
        #expect((0..<3).map { _ in skipped.next() } == (0..<3).map { _ in drawn.next() })
    }

    @Test func h100Profile() throws {
        let h100 = try HardwareProfile.named("h100-sxm")
        #expect(h100.smCount == 132)
        #expect(h100.sramBytesPerBlock == 227 * 1024)
        #expect(h100.registerBytesPerBlock == 256 * 1024)
        #expect(h100.hbmBytesPerSecond == 3.35e12)
        #expect(h100.matmulFlopsPerSecond[.fp16] == 989.4e12)
        #expect(h100.measuredHBMBytesPerSecond == 3.00e12)
        #expect(h100.l2Bytes == 52_428_800)
        // Aggregate SRAM bandwidth: 128 B/clock/SM x 132 SMs x 1.98 GHz = 33.45 TB/s.
        #expect(abs(h100.sramBytesPerSecond - 128 * 132 * 1.98e9) < 1)
        #expect(h100.levels.map(\.level) == [.hbm, .l2, .sram, .registers])
        for field in ["hbm_bytes_per_second", "sm_count", "shared_memory_bytes_per_block", "matmul_flops_per_second"] {
            #expect(h100.sources[field]?.isEmpty == false, "\(field) has no source")
        }
    }

    @Test func a100Profile() throws {
        let a100 = try HardwareProfile.named("a100-40gb-sxm")
        #expect(a100.smCount == 108)
        #expect(a100.sramBytesPerBlock == 163 * 1024)
        // The FlashAttention paper's 19 TB/s on-chip figure: 128 B x 108 x 1.41 GHz.
        #expect(abs(a100.sramBytesPerSecond / 1e12 - 19.5) < 0.1)
    }

    /// Every shipped profile loads, cites a source for each figure, and keeps per-block
    /// limits within per-SM ones.
    @Test(arguments: HardwareProfile.builtInNames)
    func profilesLoadWithSources(_ name: String) throws {
        let profile = try HardwareProfile.named(name)
        #expect(profile.id == name)
        for field in ["hbm_bytes", "hbm_bytes_per_second", "sm_count", "clock_hz", "shared_memory_bytes_per_sm", "shared_memory_bytes_per_block",
                      "registers_per_sm", "max_threads_per_sm", "max_blocks_per_sm", "matmul_flops_per_second", "vector_flops_per_second",
                      "special_function_ops_per_clock_per_sm"] {
            #expect(profile.sources[field]?.isEmpty == false, "\(name): \(field) has no source")
        }
        #expect(profile.sramBytesPerBlock <= profile.sharedMemoryBytesPerSM)
        #expect(profile.matmulFlopsPerSecond[.fp16] != nil)
    }

    @Test func badProfileNamesField() {
        let text = #"{"id": "x", "name": "X", "hbm_bytes": 1, "hbm_bytes_per_second": -3}"#
        do {
            _ = try HardwareProfile(jsonText: text, file: "gpu.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "gpu.json: hbm_bytes_per_second: expected a positive number, found -3.0")
        }
        #expect(throws: HardwareProfileError.self) { try HardwareProfile.named("tpu") }
    }

    @Test func jsonParser() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5e1, true, null, "x\u00e9\n"], "b": {}} "#, file: "t")
        #expect(value == .object([
            JSONMember(key: "a", value: .array([.integer(1), .number(-25), .bool(true), .null, .string("xé\n")]), line: 1),
            JSONMember(key: "b", value: .object([]), line: 1),
        ]))
        for (bad, message) in [("[1,]", "line 1, column 4: unexpected character ']'"), (#"{"a": 1, "a": 2}"#, "duplicate member \"a\""),
                               ("[1] x", "unexpected text after the JSON value"), ("\"abc", "unterminated string")] {
            do {
                _ = try JSONParser.parse(bad, file: "t")
                Issue.record("no error for \(bad)")
            } catch {
                #expect(error.message.contains(message), "\(error)")
            }
        }
    }
}
