/// Contiguous allocation of token slots, as servers without paging reserve a sequence's
/// cache in one piece (Orca; Yu et al. 2022). Two strategies:
/// - first fit over free extents, coalescing neighbours on free;
/// - a binary buddy allocator (Knowlton 1965), which rounds every request up to a power
///   of two and merges free buddies: the allocator the vLLM paper assumes for its Orca
///   baselines (Kwon et al. 2023, Section 6.1).
/// Both leave free memory scattered in holes: external fragmentation.
public struct ContiguousAllocator: Sendable {
    public enum Strategy: String, Sendable, CaseIterable {
        case firstFit = "first-fit"
        case buddy
    }

    public let capacity: Int
    public let strategy: Strategy
    /// Free extents (start, length), sorted by start.
    private var free: [(start: Int, length: Int)]
    /// Buddy allocator: free blocks per order (size 2^order).
    private var buddyFree: [Set<Int>]
    private var buddyOrders: [Int: Int] = [:]

    public init(capacity: Int, strategy: Strategy) {
        self.strategy = strategy
        switch strategy {
        case .firstFit:
            self.capacity = capacity
            free = capacity > 0 ? [(0, capacity)] : []
            buddyFree = []
        case .buddy:
            // The whole pool, cut into its binary decomposition: one aligned block per set
            // bit of the capacity, largest first (15,806 slots: 8,192 at 0, 4,096 at
            // 8,192, 2,048 at 12,288, ...). Each block starts at a multiple of its size, and
            // a block's buddy beyond the decomposition is never free at its order, so
            // merging stays within the pool.
            self.capacity = max(0, capacity)
            free = []
            var top = 0
            while top < 62 && (1 << (top + 1)) <= capacity { top += 1 }
            buddyFree = Array(repeating: [], count: capacity > 0 ? top + 1 : 0)
            var start = 0
            for order in stride(from: top, through: 0, by: -1) where capacity > 0 && (capacity >> order) & 1 == 1 {
                buddyFree[order].insert(start)
                start += 1 << order
            }
        }
    }

    /// Slots the allocator really takes for a request of `length` (buddy: the power of two).
    public func footprint(_ length: Int) -> Int {
        strategy == .buddy ? ContiguousAllocator.powerOfTwo(atLeast: length) : length
    }

    public var freeSlots: Int {
        switch strategy {
        case .firstFit: return free.reduce(0) { $0 + $1.length }
        case .buddy: return buddyFree.enumerated().reduce(0) { $0 + $1.element.count << $1.offset }
        }
    }

    /// The start of a new extent of `length` slots, or nil when no hole is large enough.
    public mutating func allocate(_ length: Int) -> Int? {
        guard length > 0 else { return nil }
        switch strategy {
        case .firstFit:
            guard let index = free.firstIndex(where: { $0.length >= length }) else { return nil }
            let start = free[index].start
            if free[index].length == length {
                free.remove(at: index)
            } else {
                free[index] = (start + length, free[index].length - length)
            }
            return start
        case .buddy:
            let order = ContiguousAllocator.log2(ContiguousAllocator.powerOfTwo(atLeast: length))
            guard order < buddyFree.count, let available = (order..<buddyFree.count).first(where: { !buddyFree[$0].isEmpty }),
                let start = buddyFree[available].min()
            else { return nil }
            buddyFree[available].remove(start)
            var current = available
            while current > order {
                current -= 1
                buddyFree[current].insert(start + (1 << current))
            }
            buddyOrders[start] = order
            return start
        }
    }

    /// Returns the extent that `allocate` gave for `length` slots at `start`.
    public mutating func release(start: Int, length: Int) {
        switch strategy {
        case .firstFit:
            var index = free.firstIndex { $0.start > start } ?? free.count
            free.insert((start, length), at: index)
            if index + 1 < free.count, free[index].start + free[index].length == free[index + 1].start {
                free[index].length += free[index + 1].length
                free.remove(at: index + 1)
            }
            if index > 0, free[index - 1].start + free[index - 1].length == free[index].start {
                free[index - 1].length += free[index].length
                free.remove(at: index)
                index -= 1
            }
        case .buddy:
            guard var order = buddyOrders.removeValue(forKey: start) else { return }
            var block = start
            while order + 1 < buddyFree.count {
                let buddy = block ^ (1 << order)
                guard buddyFree[order].contains(buddy) else { break }
                buddyFree[order].remove(buddy)
                block = min(block, buddy)
                order += 1
            }
            buddyFree[order].insert(block)
        }
    }

    /// The smallest power of two at least `n`, capped at 2^62.
    public static func powerOfTwo(atLeast n: Int) -> Int {
        var p = 1
        // 2^62 is the largest power of two an Int holds; no caller asks for more (request
        // lengths are at most 2^40), and stopping there keeps the loop finite.
        while p < n && p < 1 << 62 { p <<= 1 }
        return p
    }

    static func log2(_ p: Int) -> Int {
        var order = 0
        while (1 << order) < p { order += 1 }
        return order
    }
}
