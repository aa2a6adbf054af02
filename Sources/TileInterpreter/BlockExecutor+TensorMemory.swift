import AttnNumerics
import TileLanguage

/// Blackwell's tensor memory (`x = expr -> tmem`, docs/tile-language.md, "Tensor
/// memory"): results held there against the CTA's capacity, and their moves to and from
/// registers (`tcgen05.ld` / `tcgen05.st`), counted as the other on-chip edges are.
extension BlockExecutor {
    /// `x = expr -> tmem`. A product `A @ B`, or `x + A @ B` accumulating into x's own
    /// tensor-memory tile, is written there by `tcgen05.mma` (D in tensor memory): no
    /// register holds it and no byte moves from registers. Any other value is computed in
    /// registers and stored (`tcgen05.st`): its bytes count registers->tensor memory. The
    /// tile then occupies tensor memory: its allocation (whole power-of-two columns of all
    /// 128 lanes, `TensorMemoryAllocation`), checked against `tensor_memory_bytes_per_sm`
    /// (one CTA may allocate all of an SM's 512 columns); a GPU without tensor memory
    /// refuses it.
    func assignToTensorMemory(_ slot: Int, _ value: Expr, at location: SourceLocation) throws(Diagnostic) {
        let name = kernel.slotNames[slot]
        guard bound.hardware.tensorMemoryBytesPerSM > 0 else {
            throw error(
                "'\(name)' is placed in tensor memory ('-> tmem'), which \(bound.hardware.id) does not have (its tensor_memory_bytes_per_sm is 0)",
                location, notes: ["tensor memory is Blackwell's (b200, b300, gb200: 256 KiB per SM); run this program on one of those"])
        }
        let accumulates = accumulatesInTensorMemory(value, into: slot)
        tensorMemoryAccumulator = accumulates ? slot : nil
        defer { tensorMemoryAccumulator = nil }
        guard var tile = try evaluate(value, materialize: false).tile, tile.rank == 2 else {
            throw error("only a 2-D tile can be placed in tensor memory ('-> tmem')", location)
        }
        if !(accumulates || Self.isMatmul(value)) {
            // Computed in registers (the statement's temporaries and its result), then stored.
            let extra = try sum(chip.temporaryBytes, tile.bytes, "register bytes a statement needs")
            try onChip { () throws(CounterOverflow) in try chip.noteRegisterDemand(extra: extra, counters: &counters) }
            counters.registersToTensorMemory = try sum(counters.registersToTensorMemory, tile.bytes, "reg->tmem bytes")
            emit("tmem_write", edge: "reg->tmem", tensor: name, bytes: tile.bytes, shape: tile.shape)
        }
        if let old = env[slot].tile { chip.free(old) }
        env[slot] = .unset
        tile.level = .tensorMemory
        if let needed = try onChip({ () throws(CounterOverflow) in try chip.placeInTensorMemory(tile, counters: &counters) }) {
            throw capacityError(level: .tensorMemory, needed: needed, limit: chip.tensorMemoryLimit, at: location, allocating: "allocating: " + tileText(name, tile))
        }
        env[slot] = .tile(tile)
    }

    /// An operand of `@`: a tensor-memory tile is read by the tensor cores where it lies
    /// (`tcgen05.mma` takes A from tensor memory: FlashAttention-4's P), no register load.
    func matmulOperand(_ e: Expr) throws(Diagnostic) -> Tile? {
        if case .local(let slot) = e.kind, let tile = env[slot].tile, tile.level == .tensorMemory { return tile }
        return try evaluate(e, materialize: true).tile
    }

    /// `x + A @ B` or `A @ B + x`, x the assigned slot holding a tensor-memory tile.
    private func accumulatesInTensorMemory(_ value: Expr, into slot: Int) -> Bool {
        guard case .binary(.add, let l, let r) = value.kind, env[slot].tile?.level == .tensorMemory else { return false }
        func isSlot(_ e: Expr) -> Bool { if case .local(slot) = e.kind { return true } else { return false } }
        return (isSlot(l) && Self.isMatmul(r)) || (isSlot(r) && Self.isMatmul(l))
    }

    private static func isMatmul(_ e: Expr) -> Bool {
        if case .binary(.matmul, _, _) = e.kind { return true } else { return false }
    }
}
