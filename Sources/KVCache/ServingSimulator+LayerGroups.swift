import AttnNumerics

extension ServingSimulator {
    /// vLLM v1's hybrid KV-cache manager (docs.vllm.ai, design/hybrid_kv_cache_manager):
    /// the layers are split into groups of `g` layers of one kind (g = the gcd of the
    /// kinds' layer counts), every block holds B tokens of one group's g layers (the same
    /// page size for every group), and all groups draw from one shared pool of
    /// `poolBlocks` blocks. Per sequence each group of a kind holds blocks by the kind's
    /// rule (`Retention`): every token (full attention), the window (sliding window), the
    /// current chunk (Llama 4's chunked attention), or a fixed number of blocks for a
    /// recurrent state (Mamba, Gated DeltaNet).
    public struct Hybrid: Sendable, Equatable {
        /// Which blocks a group of one kind keeps for a sequence.
        public enum Retention: Sendable, Equatable {
            /// A block per B tokens, every token.
            case full
            /// The window and sinks (as `Eviction`): at most cdiv(sinks, B) + cdiv(window, B)
            /// + 1 blocks, then the oldest window block takes the new tokens.
            case window(Eviction)
            /// The tokens of the current chunk of C: a query at position p sees keys
            /// C floor(p / C) ... p, so blocks wholly before that start are freed.
            case chunk(Int)
            /// A recurrent state of this many blocks per sequence, held from admission to
            /// the end; `label` names it (`ssm state`, `deltanet state`).
            case state(blocks: Int, label: String)

            /// `full`, `window W` (`+ S sinks`), `chunk C`, or the state's label.
            public var label: String {
                switch self {
                case .full: return "full"
                case .window(let e): return "window \(e.window)" + (e.sinks > 0 ? " + \(e.sinks) sinks" : "")
                case .chunk(let c): return "chunk \(c)"
                case .state(_, let label): return label
                }
            }
        }

        /// One kind of layer group: how it keeps blocks and how many groups of g layers have it.
        public struct Kind: Sendable, Equatable {
            public var retention: Retention
            public var groups: Int

            public init(_ retention: Retention, groups: Int) {
                self.retention = retention
                self.groups = groups
            }
        }

        public var kinds: [Kind]
        public var poolBlocks: Int

        public init(kinds: [Kind], poolBlocks: Int) {
            self.kinds = kinds
            self.poolBlocks = poolBlocks
        }

        /// Global groups beside groups of one window (Gemma 2).
        public init(globalGroups: Int, localGroups: Int, local: Eviction, poolBlocks: Int) {
            self.init(kinds: [Kind(.full, groups: globalGroups), Kind(.window(local), groups: localGroups)], poolBlocks: poolBlocks)
        }

        /// Groups of every kind.
        var totalGroups: Int { kinds.reduce(0) { $0 + $1.groups } }

        /// Admission's watermark: one free block per group that grows (states do not).
        var watermarkBlocks: Int {
            kinds.reduce(0) { total, kind in
                if case .state = kind.retention { return total }
                return total + kind.groups
            }
        }

        /// Logical blocks (each one block per group of the kind) a prompt of `tokens`
        /// holds in a group of `kind` at admission.
        static func promptBlocks(_ kind: Retention, tokens: Int, blockSize b: Int) -> Int {
            let blocks = Checked.ceilDiv(tokens, b)
            switch kind {
            case .full: return blocks
            case .window(let e): return min(blocks, e.maxBlocks(b))
            case .chunk(let c): return tokens < 1 ? 0 : (tokens - 1) / b - chunkFirstBlock(position: tokens - 1, chunk: c, blockSize: b) + 1
            case .state(let n, _): return n
            }
        }

        /// The first block a chunked group keeps once the token at `position` is written:
        /// the block of the chunk's first token, floor(C floor(p / C) / B).
        static func chunkFirstBlock(position p: Int, chunk c: Int, blockSize b: Int) -> Int { (p / c * c) / b }

        /// Pool blocks a prompt of `tokens` takes over all groups.
        func promptPoolBlocks(_ tokens: Int, blockSize: Int) -> Int {
            kinds.reduce(0) { $0 + Self.promptBlocks($1.retention, tokens: tokens, blockSize: blockSize) * $1.groups }
        }

        /// Why this allocation cannot run, or nil.
        func problem() -> String? {
            let total = totalGroups
            guard !kinds.isEmpty, kinds.allSatisfy({ $0.groups >= 1 }), total <= ServingSimulator.maxSequences,
                poolBlocks >= 0, poolBlocks <= ServingSimulator.maxPoolBlocks
            else {
                return "expected kinds of at least 1 group each (at most \(ServingSimulator.maxSequences) in all) and a pool of 0 to \(ServingSimulator.maxPoolBlocks) blocks"
            }
            for kind in kinds {
                switch kind.retention {
                case .full: break
                case .window(let e):
                    guard e.window >= 1, e.window <= ServingSimulator.maxRequestTokens, e.sinks >= 0, e.sinks <= ServingSimulator.maxRequestTokens else {
                        return "expected a window from 1 and sinks from 0 to \(ServingSimulator.maxRequestTokens) tokens, found \(e.window) and \(e.sinks)"
                    }
                case .chunk(let c):
                    guard c >= 1, c <= ServingSimulator.maxRequestTokens else { return "expected a chunk from 1 to \(ServingSimulator.maxRequestTokens) tokens, found \(c)" }
                case .state(let n, _):
                    guard n >= 0, n <= ServingSimulator.maxPoolBlocks else { return "expected a state of 0 to \(ServingSimulator.maxPoolBlocks) blocks, found \(n)" }
                }
            }
            return nil
        }
    }

    /// One sequence's blocks under hybrid allocation: per kind, its logical blocks in order
    /// (each the blocks of every group of the kind) and, for a chunked kind, the logical
    /// index of the first one held.
    struct LayerGroupTables {
        struct Table {
            var base = 0
            var blocks: [[Int]] = []
        }

        var tables: [Table]

        /// Every block table, for the pool's invariant check.
        var allTables: [[Int]] { tables.flatMap(\.blocks) }

        /// Blocks held per kind (logical blocks x groups).
        func heldBlocks(_ h: Hybrid) -> [Int] { zip(tables, h.kinds).map { $0.blocks.count * $1.groups } }

        /// The prompt's blocks in every group, when the pool has them plus the watermark;
        /// nil otherwise (nothing taken).
        static func admit(prompt: Int, _ h: Hybrid, blockSize b: Int, pool: inout BlockPool) -> LayerGroupTables? {
            guard pool.freeCount >= h.promptPoolBlocks(prompt, blockSize: b) + h.watermarkBlocks else { return nil }
            var tables: [Table] = []
            for kind in h.kinds {
                var table = Table()
                if case .chunk(let c) = kind.retention, prompt >= 1 { table.base = Hybrid.chunkFirstBlock(position: prompt - 1, chunk: c, blockSize: b) }
                for _ in 0..<Hybrid.promptBlocks(kind.retention, tokens: prompt, blockSize: b) { table.blocks.append(pool.allocate(kind.groups)) }
                tables.append(table)
            }
            return LayerGroupTables(tables: tables)
        }

        /// Blocks for the token at `position` in every group; false when the pool ran out.
        /// Each kind takes all its groups' blocks or none and a step is idempotent, so a
        /// retry after a preemption is exact.
        mutating func grow(position p: Int, _ h: Hybrid, blockSize b: Int, pool: inout BlockPool) -> Bool {
            for (k, kind) in h.kinds.enumerated() {
                switch kind.retention {
                case .full:
                    if p / b >= tables[k].blocks.count {
                        guard pool.freeCount >= kind.groups else { return false }
                        tables[k].blocks.append(pool.allocate(kind.groups))
                    }
                case .window(let e):
                    // As the uniform eviction: once the group holds all it may, the oldest
                    // window block (after the sink blocks) takes the new tokens.
                    if p % b == 0 {
                        if tables[k].blocks.count >= e.maxBlocks(b) {
                            let reused = tables[k].blocks.remove(at: Checked.ceilDiv(e.sinks, b))
                            tables[k].blocks.append(reused)
                        } else {
                            guard pool.freeCount >= kind.groups else { return false }
                            tables[k].blocks.append(pool.allocate(kind.groups))
                        }
                    }
                case .chunk(let c):
                    // Blocks wholly before the chunk of p are freed, then p's block is taken.
                    let first = Hybrid.chunkFirstBlock(position: p, chunk: c, blockSize: b)
                    while tables[k].base < first, !tables[k].blocks.isEmpty {
                        for block in tables[k].blocks.removeFirst() { pool.release(block) }
                        tables[k].base += 1
                    }
                    if tables[k].blocks.isEmpty { tables[k].base = first }
                    if p / b >= tables[k].base + tables[k].blocks.count {
                        guard pool.freeCount >= kind.groups else { return false }
                        tables[k].blocks.append(pool.allocate(kind.groups))
                    }
                case .state:
                    break
                }
            }
            return true
        }

        /// Returns every block to the pool.
        func release(pool: inout BlockPool) {
            for table in tables { for blocks in table.blocks { for block in blocks { pool.release(block) } } }
        }

        /// This iteration's slots in token-group units (each group's slots counted once per
        /// group) for a sequence holding `tokens` of its `final`: token states (a state
        /// group's blocks count as held state), reserved slots it will still fill, and
        /// slots it will never fill (beyond its final length, or before a chunk's start).
        func account(tokens n: Int, final: Int, _ h: Hybrid, blockSize b: Int) -> (tokens: Int, reserved: Int, unusable: Int) {
            var held = 0, reserved = 0, unusable = 0
            for (table, kind) in zip(tables, h.kinds) {
                let allocated = table.blocks.count * b
                let keep: Int, used: Int
                switch kind.retention {
                case .full:
                    keep = n
                    used = min(final, allocated)
                case .window(let e):
                    keep = e.kept(n)
                    used = min(e.kept(final), allocated)
                case .chunk(let c):
                    let start = n < 1 ? 0 : (n - 1) / c * c
                    let dead = max(0, start - table.base * b)
                    keep = n - start
                    let tail = max(0, allocated - dead - keep)
                    used = keep + min(tail, max(0, final - n))
                case .state:
                    keep = allocated
                    used = allocated
                }
                held += keep * kind.groups
                reserved += max(0, used - keep) * kind.groups
                unusable += (allocated - max(used, min(keep, allocated))) * kind.groups
            }
            return (held, reserved, unusable)
        }
    }
}
