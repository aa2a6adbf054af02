import Workload

/// A first-come, first-served queue of requests: O(1) at both ends (a head index into an
/// array, compacted when half of it is spent).
struct RequestQueue {
    private var items: [Request] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    /// Requests waiting.
    var count: Int { items.count - head }
    var first: Request? { isEmpty ? nil : items[head] }

    mutating func append(_ request: Request) { items.append(request) }

    /// Puts a preempted request back at the front.
    mutating func prepend(_ request: Request) {
        if head > 0 {
            head -= 1
            items[head] = request
        } else {
            items.insert(request, at: 0)
        }
    }

    mutating func removeFirst() {
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}
