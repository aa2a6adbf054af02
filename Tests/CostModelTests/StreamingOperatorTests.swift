import Testing
import AttnHardware
import CostModel

/// A model step's streaming operators (norms, RoPE, residual adds, activations) timed by
/// the terms of a tile kernel without a loop: Little's law over their resident warps and
/// one round of the DRAM latency per block, plus a barrier wait per reduction across warps.
/// Figures by hand on the A100 80GB profile: 108 SMs, 600 ns DRAM latency, 2,039 GB/s x
/// 0.895 = 1.8249 TB/s, beta = 2,450 B / 600 ns = 4.083 GB/s per warp, barrier wait 1.9 us,
/// kernel overhead 1 us.
@Suite struct StreamingOperatorTests {
    static func a100() throws -> CostModel {
        CostModel(hardware: try HardwareProfile.named("a100-80gb-sxm"), dtype: .bf16)
    }

    /// PyTorch's launch shapes: 1,024 elements (128 threads) a block for an elementwise
    /// kernel; a block per row for a norm, a warp per 256 elements, 1 to 32 warps.
    @Test func launchShapes() {
        #expect(StreamingShape.elementwise(elements: 4096) == StreamingShape(blocks: 4, threads: 128))
        #expect(StreamingShape.elementwise(elements: 4097).blocks == 5)
        #expect(StreamingShape.rows(1, width: 4096, reductions: 1) == StreamingShape(blocks: 1, threads: 512, reductions: 1))
        #expect(StreamingShape.rows(3, width: 100, reductions: 1).threads == 32)
        #expect(StreamingShape.rows(3, width: 65536, reductions: 1).threads == 1024)
    }

    /// One decode token's RMSNorm over h = 4,096 (bf16: 16,384 bytes read and written, an
    /// 8,192-byte weight): one block of 512 threads, 16 warps. Little's law: 24,576 B /
    /// (16 x 4.083 GB/s) = 0.376 us; one round: 1 block / (108 x 1/108) x (0.6 + 1.9 us)
    /// = 2.5 us, the larger: 3.5 us with the launch, bound by latency (1 us before).
    @Test func oneTokenNormWaitsForItsRoundAndBarrier() throws {
        let cm = try Self.a100()
        let shape = StreamingShape.rows(1, width: 4096, reductions: 1)
        let t = cm.streamingOperator(bytes: 24_576, flops: 16_384, shape: shape)
        #expect(abs(t.seconds - 3.5e-6) < 1e-12)
        #expect(t.bound == .latency)
        let flat = cm.streamingOperator(bytes: 24_576, flops: 16_384)
        let ceiling: Double = 2.039e12 * 0.895
        let atCeiling: Double = 24_576 / ceiling + 1e-6
        #expect(abs(flat.seconds - atCeiling) < 1e-12)
    }

    /// One token's residual add (two 8,192-byte reads, one write): 4 blocks of 128
    /// threads, no reduction. Little's law: 24,576 B / (4 x 4 x 4.083 GB/s) = 0.376 us;
    /// one round of 600 ns: below the 1 us launch, so bound `overhead`, 1.6 us.
    @Test func oneTokenElementwiseKernelWaitsOneRound() throws {
        let cm = try Self.a100()
        let t = cm.streamingOperator(bytes: 24_576, flops: 4_096, shape: .elementwise(elements: 4096))
        #expect(abs(t.seconds - 1.6e-6) < 1e-12)
        #expect(t.bound == .overhead)
        // Without the latency round it would be 0.376 us + 1 us.
        let beta: Double = 2450 / 600e-9
        let memory: Double = 24_576 / (16 * beta)
        #expect(abs(memory - 0.376e-6) < 1e-9)
    }

    /// A 2,048-token prefill's RMSNorm: 2,048 blocks of 512 threads, 4 per SM (2,048 threads
    /// an SM), 432 resident: Little's law allows 432 x 16 x 4.083 GB/s = 28.2 TB/s, so the
    /// ceiling binds: 33,562,624 B / 1.8249 TB/s = 18.39 us, above the rounds' 2,048 / (108 x 4)
    /// x 2.5 us = 11.85 us. Bound `memory`, as before the launch shape.
    @Test func prefillNormStreamsAtTheCeiling() throws {
        let cm = try Self.a100()
        let bytes = 2 * 2048 * 4096 * 2 + 8192
        let t = cm.streamingOperator(bytes: bytes, flops: 4 * 2048 * 4096, shape: .rows(2048, width: 4096, reductions: 1))
        let ceiling: Double = 2.039e12 * 0.895
        let expected: Double = Double(bytes) / ceiling + 1e-6
        #expect(abs(t.seconds - expected) < 1e-12)
        #expect(t.bound == .memory)
        let rounds: Double = 2048.0 / (108 * 4) * 2.5e-6
        #expect(abs(rounds - 11.85e-6) < 0.01e-6 && rounds < expected)
    }
}
