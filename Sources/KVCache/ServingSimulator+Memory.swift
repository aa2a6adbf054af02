import AttnNumerics
import Workload

extension ServingSimulator {
    // MARK: Admission, growth and release

    /// Blocks of the shared prefix that private copies would hold: one copy per sequence.
    func privatePrefixBlocks() -> Int {
        guard case .sharedPrefix = configuration.sharing else { return 0 }
        return prefixTable.count * running.count
    }

    /// Slots (contiguous) or blocks x size (paged) a request needs to be admitted.
    func need(_ request: Request) -> Int {
        switch configuration.policy {
        case .paged:
            if let h = configuration.hybrid {
                // Blocks of every group, in token slots of the whole model (rounded up).
                let blocks = h.promptPoolBlocks(request.promptTokens, blockSize: blockSize) + h.watermarkBlocks
                return Checked.ceilDiv(blocks * blockSize, h.totalGroups)
            }
            // Overflow-free: prompts are at most 2^40 tokens and sequences at most 1024 (checked in run).
            return (promptBlocks(request.promptTokens) + configuration.sharing.sequences) * blockSize
        default:
            return contiguous.footprint(reservation(request)) * configuration.sharing.sequences
        }
    }

    /// Blocks a prompt of `tokens` occupies (at most the eviction's blocks).
    func promptBlocks(_ tokens: Int) -> Int {
        let blocks = Checked.ceilDiv(tokens, blockSize)
        return configuration.eviction.map { min(blocks, $0.maxBlocks(blockSize)) } ?? blocks
    }

    /// Slots a contiguous policy reserves for one sequence of `request` (at most the
    /// longest sequence or the request's own length, capped by the eviction).
    func reservation(_ request: Request) -> Int {
        let wanted = configuration.policy.reservation(prompt: request.promptTokens, output: request.outputTokens, maxLength: configuration.maxLength)
        let length = min(wanted, max(configuration.maxLength, request.finalTokens))
        return configuration.eviction.map { min(length, $0.kept(length)) } ?? length
    }

    /// The keys of the prompt's full blocks (prefix caching).
    func promptKeys(_ request: Request) -> [BlockKey] {
        (0..<(request.promptTokens / blockSize)).map { request.blockKey($0, blockSize: blockSize) }
    }

    /// Admits `request` if memory allows: its blocks (paged) or its reservation of each
    /// sequence (contiguous); nil when it does not fit.
    mutating func admit(_ request: Request, iteration: Int) throws(SimulationError) -> Running? {
        let c = configuration
        switch c.policy {
        case .paged:
            if let h = c.hybrid {
                // Every group's blocks of the prompt, plus the watermark (`LayerGroupTables.admit`).
                guard let groups = LayerGroupTables.admit(prompt: request.promptTokens, h, blockSize: blockSize, pool: &pool) else { return nil }
                var r = Running(request: request, tokens: request.promptTokens, tables: [], admittedAt: iteration, pending: request.promptTokens)
                r.groups = groups
                tally.promptTokens += request.promptTokens
                return r
            }
            if c.prefixCaching { return admitCached(request, iteration: iteration) }
            var prefixTokens = 0
            if case .sharedPrefix(let tokens) = c.sharing {
                prefixTokens = min(tokens, request.promptTokens) / blockSize * blockSize
            }
            let sequences = c.sharing.sequences
            let promptBlocks = self.promptBlocks(request.promptTokens - prefixTokens)
            let prefixBlocksNeeded = prefixTokens > 0 && prefixTable.isEmpty ? prefixTokens / blockSize : 0
            // Room for the prompt and one new block per sequence (a watermark, as vLLM keeps).
            guard pool.freeCount >= promptBlocks + prefixBlocksNeeded + sequences else { return nil }
            if prefixBlocksNeeded > 0 {
                for _ in 0..<prefixBlocksNeeded { if let block = pool.allocate() { prefixTable.append(block) } }
            }
            var table: [Int] = []
            if prefixTokens > 0 {
                for block in prefixTable.prefix(prefixTokens / blockSize) {
                    pool.retain(block)
                    table.append(block)
                }
            }
            for _ in 0..<promptBlocks { if let block = pool.allocate() { table.append(block) } }
            // The request's samples or beams exist from admission and share the prompt's
            // blocks, each block's reference count the number of sequences: vLLM 0.1, which
            // the paper ran, creates `best_of` sequences per request (LLMEngine.add_request)
            // and gives every one the prompt's block table (BlockSpaceManager.allocate,
            // ref_count = seq_group.num_seqs()); the prompt runs once, and each sequence's
            // first token goes into its own copy of the last partial block (copy on write).
            var tables = [table]
            for _ in 1..<max(1, sequences) {
                for block in table { pool.retain(block) }
                tables.append(table)
            }
            tally.promptTokens += request.promptTokens
            return Running(request: request, tokens: request.promptTokens, tables: tables, admittedAt: iteration, pending: request.promptTokens)
        default:
            // One reservation per sequence: without paging, parallel samples and beams
            // each keep a private copy (Kwon et al. 2023, Section 6.3's Orca baselines).
            let length = reservation(request)
            var starts: [Int] = []
            for _ in 0..<max(1, c.sharing.sequences) {
                guard let start = contiguous.allocate(length) else {
                    for s in starts { contiguous.release(start: s, length: contiguous.footprint(length)) }
                    return nil
                }
                starts.append(start)
            }
            tally.promptTokens += request.promptTokens
            return Running(
                request: request, tokens: request.promptTokens, tables: [], extents: starts, extentLength: contiguous.footprint(length),
                admittedAt: iteration, pending: request.promptTokens)
        }
    }

    /// Prefix caching: admits `request` taking the cached blocks of its prompt's longest
    /// cached prefix and new blocks for the rest, plus one free block (the watermark).
    /// At least the prompt's last token is computed (its logits give the first output
    /// token), so a fully cached prompt still runs one token.
    mutating func admitCached(_ request: Request, iteration: Int) -> Running? {
        let keys = promptKeys(request)
        let matched = pool.cachedPrefix(keys)
        let hitBlocks = (0..<matched).compactMap { pool.block(for: keys[$0]) }
        // Cached blocks no table holds count as free until this request takes them.
        let revived = hitBlocks.filter { pool.isEvictable($0) }.count
        let newBlocks = Checked.ceilDiv(request.promptTokens, blockSize) - matched
        guard pool.freeCount - revived >= newBlocks + 1 else { return nil }
        var table: [Int] = []
        for block in hitBlocks {
            pool.retain(block)
            table.append(block)
        }
        for _ in 0..<newBlocks { if let block = pool.allocate() { table.append(block) } }
        let hit = min(matched * blockSize, request.promptTokens - 1)
        tally.promptTokens += request.promptTokens
        tally.hitTokens += hit
        var r = Running(request: request, tokens: request.promptTokens, tables: [table], admittedAt: iteration, pending: request.promptTokens - hit)
        r.registered = matched
        return r
    }

    /// Prefix caching: registers every full block of `r`'s table not yet registered.
    mutating func registerFullBlocks(_ r: inout Running) {
        guard let table = r.tables.first else { return }
        let full = min(table.count, r.tokens / blockSize)
        while r.registered < full {
            pool.register(table[r.registered], key: r.request.blockKey(r.registered, blockSize: blockSize))
            r.registered += 1
        }
    }

    /// One more token for every sequence of `r`; false when the pool ran out.
    mutating func grow(_ r: inout Running) -> Bool {
        guard case .paged = configuration.policy else {
            r.tokens += 1
            return true
        }
        if case .beamSearch(let width) = configuration.sharing, width > 1 {
            // The new beams descend from the current ones, favouring the best: parent
            // index floor(width * u^2) for uniform u. Children share the parent's blocks;
            // beams left without children are freed.
            var next: [[Int]] = []
            for _ in 0..<width {
                let u = generator.nextUnit()
                let parent = min(width - 1, Int(Double(width) * u * u))
                for block in r.tables[parent] { pool.retain(block) }
                next.append(r.tables[parent])
            }
            for table in r.tables { for block in table { pool.release(block) } }
            r.tables = next
        }
        let position = r.tokens
        if let h = configuration.hybrid {
            // Each kind of group by its rule (`LayerGroupTables.grow`).
            guard r.groups?.grow(position: position, h, blockSize: blockSize, pool: &pool) ?? false else { return false }
            r.tokens += 1
            return true
        }
        if let eviction = configuration.eviction, r.tables.count == 1 {
            // One sequence (sharing is refused with eviction). A token that starts a new
            // block takes a free block, or, once the sequence holds all the blocks it may,
            // the oldest window block (after the sink blocks), whose tokens left the window.
            if position % blockSize == 0 {
                if r.tables[0].count >= eviction.maxBlocks(blockSize) {
                    let reused = r.tables[0].remove(at: Checked.ceilDiv(eviction.sinks, blockSize))
                    r.tables[0].append(reused)
                } else {
                    guard let block = pool.allocate() else { return false }
                    r.tables[0].append(block)
                }
            }
            r.tokens += 1
            return true
        }
        for s in r.tables.indices {
            if position / blockSize >= r.tables[s].count {
                guard let block = pool.allocate() else { return false }
                r.tables[s].append(block)
            } else if let last = r.tables[s].last, pool.referenceCount(last) > 1 {
                // Copy on write: the first write into a shared block copies that block only.
                guard let block = pool.allocate() else { return false }
                pool.release(last)
                r.tables[s][r.tables[s].count - 1] = block
                copies += 1
            }
        }
        r.tokens += 1
        // Prefix caching: a block the new token filled now holds a full block of the stream.
        if configuration.prefixCaching, r.tokens % blockSize == 0 { registerFullBlocks(&r) }
        return true
    }

    /// Releases everything `r` holds.
    mutating func free(_ r: Running) {
        if case .paged = configuration.policy {
            for table in r.tables { for block in table { pool.release(block) } }
            r.groups?.release(pool: &pool)
        } else {
            for start in r.extents { contiguous.release(start: start, length: r.extentLength) }
        }
    }

    // MARK: Swapping

    /// Blocks `r` holds in the pool: its table's, or under hybrid allocation every group's.
    func heldBlocks(_ r: Running) -> Int {
        if let h = configuration.hybrid, let groups = r.groups { return groups.heldBlocks(h).reduce(0, +) }
        return r.tables.reduce(0) { $0 + $1.count }
    }

    /// Swaps `victim` out when swapping is on, it has finished its prompt and the lower
    /// level has room for its blocks: they are freed here and counted as moved; false
    /// otherwise (the caller recomputes it).
    mutating func swapOut(_ victim: Running) -> Bool {
        guard case .swap(let swap) = configuration.preemption, victim.pending == 0 else { return false }
        let blocks = heldBlocks(victim)
        guard hostBlocksUsed + blocks <= swap.capacityBlocks else { return false }
        free(victim)
        var moved = victim
        moved.tables = []
        moved.groups = nil
        moved.registered = 0
        moved.swappedBlocks = blocks
        hostBlocksUsed += blocks
        movedBlocks += blocks
        tally.swapOuts += 1
        swapped.append(moved)
        return true
    }

    /// Brings a swapped-out request back when the blocks of its `tokens` and the
    /// watermark are free (all or nothing): one block per B tokens (at most a sliding
    /// window's), or under hybrid allocation what each group keeps of a sequence of that
    /// length (`LayerGroupTables.admit`); false when they are not.
    mutating func swapIn(_ r: Running) -> Bool {
        var back = r
        let blocks: Int
        if let h = configuration.hybrid {
            guard let groups = LayerGroupTables.admit(prompt: r.tokens, h, blockSize: blockSize, pool: &pool) else { return false }
            back.groups = groups
            blocks = groups.heldBlocks(h).reduce(0, +)
        } else {
            blocks = promptBlocks(r.tokens)
            guard pool.freeCount >= blocks + 1 else { return false }
            back.tables = [pool.allocate(blocks)]
        }
        hostBlocksUsed -= r.swappedBlocks
        back.swappedBlocks = 0
        movedBlocks += blocks
        if configuration.prefixCaching { registerFullBlocks(&back) }
        running.append(back)
        return true
    }

    /// The token slots a swapped-out request waits for, as `need` counts a prompt: its
    /// blocks and the watermark.
    func swapInNeed(_ r: Running) -> Int {
        var request = r.request
        request.promptTokens = r.tokens
        return need(request)
    }
}
