import Workload

/// A pool of fixed-size KV blocks with reference counts (PagedAttention, Kwon et al.
/// 2023, Section 4.2): sequences hold block tables of block ids; shared blocks carry a
/// count of the tables that hold them and return to the pool when it drops to zero.
///
/// Prefix caching (vLLM's automatic prefix caching; SGLang's RadixAttention, Zheng et
/// al. 2024): a full block may be registered under its `BlockKey`, which names its
/// tokens and every token before them, so the keys of a sequence's blocks are the path
/// of a radix tree with one node per block. A registered block whose count drops to zero
/// keeps its content and becomes evictable instead of free; a later request whose prompt
/// has the same keys takes it back (a hit). Allocation takes a free block first, else
/// evicts the least recently used evictable block (ties: the deepest, so a node goes
/// before its parent and the tree loses leaves only).
public struct BlockPool: Sendable {
    public let capacity: Int
    private var freeList: [Int]
    private var referenceCounts: [Int]
    /// Prefix caching: each registered block's key and depth, and the block of each key.
    private var keys: [BlockKey?]
    private var blocks: [BlockKey: Int] = [:]
    /// Evictable blocks (registered, count zero) in a min-heap of (last use, -depth,
    /// block); entries whose block was revived or evicted since are skipped (`stamp`).
    private var heap: [HeapEntry] = []
    private var stamp: [Int]
    private var evictableCount = 0
    private var clock = 0
    /// Registered blocks evicted to make room.
    public private(set) var evictions = 0

    private struct HeapEntry {
        var lastUse: Int
        var depth: Int
        var block: Int
        var stamp: Int

        func precedes(_ other: HeapEntry) -> Bool {
            (lastUse, -depth, block) < (other.lastUse, -other.depth, other.block)
        }
    }

    public init(capacity: Int) {
        self.capacity = capacity
        freeList = Array((0..<capacity).reversed())
        referenceCounts = Array(repeating: 0, count: capacity)
        keys = Array(repeating: nil, count: capacity)
        stamp = Array(repeating: 0, count: capacity)
    }

    /// Blocks an allocation can take: free ones and evictable cached ones.
    public var freeCount: Int { freeList.count + evictableCount }
    /// Blocks held by at least one table.
    public var usedCount: Int { capacity - freeCount }
    /// Registered blocks no table holds (their content kept for later hits).
    public var cachedCount: Int { evictableCount }

    public func referenceCount(_ block: Int) -> Int { referenceCounts[block] }

    /// Takes a free block (or evicts the least recently used cached one) with one
    /// reference; nil when every block is held.
    public mutating func allocate() -> Int? {
        if let block = freeList.popLast() {
            referenceCounts[block] = 1
            return block
        }
        while let entry = popHeap() {
            guard entry.stamp == stamp[entry.block], referenceCounts[entry.block] == 0, let key = keys[entry.block] else { continue }
            blocks[key] = nil
            keys[entry.block] = nil
            stamp[entry.block] += 1
            evictableCount -= 1
            evictions += 1
            referenceCounts[entry.block] = 1
            return entry.block
        }
        return nil
    }

    /// Takes `count` blocks with one reference each; empty when fewer are available.
    public mutating func allocate(_ count: Int) -> [Int] {
        guard count >= 0, freeCount >= count else { return [] }
        var blocks: [Int] = []
        for _ in 0..<count { if let block = allocate() { blocks.append(block) } }
        return blocks
    }

    /// Another table now holds `block` (a cached block no table held is revived).
    public mutating func retain(_ block: Int) {
        if referenceCounts[block] == 0, keys[block] != nil {
            stamp[block] += 1
            evictableCount -= 1
        }
        referenceCounts[block] += 1
    }

    /// A table let go of `block`; when no table holds it, it becomes evictable if it is
    /// registered (last used now), else free.
    public mutating func release(_ block: Int) {
        referenceCounts[block] -= 1
        guard referenceCounts[block] == 0 else { return }
        if let key = keys[block] {
            clock += 1
            stamp[block] += 1
            evictableCount += 1
            pushHeap(HeapEntry(lastUse: clock, depth: key.index + 1, block: block, stamp: stamp[block]))
        } else {
            freeList.append(block)
        }
    }

    // MARK: Prefix caching

    /// The cached block holding `key`'s tokens, if any.
    public func block(for key: BlockKey) -> Int? { blocks[key] }

    /// Whether `block` is cached and no table holds it (taking it revives it).
    public func isEvictable(_ block: Int) -> Bool { referenceCounts[block] == 0 && keys[block] != nil }

    /// Registers a held, full block as holding `key`'s tokens; a key already cached in
    /// another block keeps that one (this block stays private and is freed as usual).
    public mutating func register(_ block: Int, key: BlockKey) {
        guard referenceCounts[block] > 0, keys[block] == nil, blocks[key] == nil else { return }
        keys[block] = key
        blocks[key] = block
    }

    /// Leading keys of `keys` whose blocks are cached: the longest cached prefix, in blocks.
    public func cachedPrefix(_ keys: [BlockKey]) -> Int {
        var matched = 0
        for key in keys {
            guard blocks[key] != nil else { break }
            matched += 1
        }
        return matched
    }

    private mutating func pushHeap(_ entry: HeapEntry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popHeap() -> HeapEntry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
                if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
                guard smallest != parent else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }

    /// Problems with the pool's state, given every block table in use; empty when sound.
    /// Checks: no negative count, no block both free and held, each held block's count
    /// equal to the number of table entries naming it, each cached key naming its block,
    /// free + evictable + held = capacity.
    public func invariantViolations(tables: [[Int]]) -> [String] {
        var problems: [String] = []
        var held = Array(repeating: 0, count: capacity)
        for table in tables { for block in table { held[block] += 1 } }
        let free = Set(freeList)
        if free.count != freeList.count { problems.append("a block is on the free list twice") }
        var evictable = 0
        for block in 0..<capacity {
            if referenceCounts[block] < 0 { problems.append("block \(block) has a negative reference count") }
            if free.contains(block) && held[block] > 0 { problems.append("block \(block) is free but held by a table") }
            if free.contains(block) && keys[block] != nil { problems.append("block \(block) is free but still cached") }
            if !free.contains(block) && referenceCounts[block] != held[block] {
                problems.append("block \(block) counts \(referenceCounts[block]) references but \(held[block]) tables hold it")
            }
            if let key = keys[block], blocks[key] != block { problems.append("block \(block)'s key names another block") }
            if !free.contains(block) && referenceCounts[block] == 0 {
                if keys[block] == nil { problems.append("block \(block) is neither free, held nor cached") } else { evictable += 1 }
            }
        }
        if evictable != evictableCount { problems.append("\(evictable) cached blocks no table holds, but the pool counts \(evictableCount)") }
        if usedCount + freeCount != capacity { problems.append("used + free != capacity") }
        return problems
    }
}
