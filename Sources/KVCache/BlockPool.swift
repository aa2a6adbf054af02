/// A pool of fixed-size KV blocks with reference counts (PagedAttention, Kwon et al.
/// 2023, Section 4.2): sequences hold block tables of block ids; shared blocks carry a
/// count of the tables that hold them and return to the free list when it drops to zero.
public struct BlockPool: Sendable {
    public let capacity: Int
    private var freeList: [Int]
    private var referenceCounts: [Int]

    public init(capacity: Int) {
        self.capacity = capacity
        freeList = Array((0..<capacity).reversed())
        referenceCounts = Array(repeating: 0, count: capacity)
    }

    public var freeCount: Int { freeList.count }
    public var usedCount: Int { capacity - freeList.count }

    public func referenceCount(_ block: Int) -> Int { referenceCounts[block] }

    /// Takes a free block with one reference; nil when the pool is exhausted.
    public mutating func allocate() -> Int? {
        guard let block = freeList.popLast() else { return nil }
        referenceCounts[block] = 1
        return block
    }

    /// Takes `count` free blocks with one reference each; empty when fewer are free.
    public mutating func allocate(_ count: Int) -> [Int] {
        guard count >= 0, freeList.count >= count else { return [] }
        var blocks: [Int] = []
        for _ in 0..<count { if let block = allocate() { blocks.append(block) } }
        return blocks
    }

    /// Another table now holds `block`.
    public mutating func retain(_ block: Int) {
        referenceCounts[block] += 1
    }

    /// A table let go of `block`; it is freed when no table holds it.
    public mutating func release(_ block: Int) {
        referenceCounts[block] -= 1
        if referenceCounts[block] == 0 { freeList.append(block) }
    }

    /// Problems with the pool's state, given every block table in use; empty when sound.
    /// Checks: no negative count, no block both free and held, each held block's count
    /// equal to the number of table entries naming it, used + free = capacity.
    public func invariantViolations(tables: [[Int]]) -> [String] {
        var problems: [String] = []
        var held = Array(repeating: 0, count: capacity)
        for table in tables { for block in table { held[block] += 1 } }
        let free = Set(freeList)
        if free.count != freeList.count { problems.append("a block is on the free list twice") }
        for block in 0..<capacity {
            if referenceCounts[block] < 0 { problems.append("block \(block) has a negative reference count") }
            if free.contains(block) && held[block] > 0 { problems.append("block \(block) is free but held by a table") }
            if !free.contains(block) && referenceCounts[block] != held[block] {
                problems.append("block \(block) counts \(referenceCounts[block]) references but \(held[block]) tables hold it")
            }
        }
        if usedCount + freeCount != capacity { problems.append("used + free != capacity") }
        return problems
    }
}
