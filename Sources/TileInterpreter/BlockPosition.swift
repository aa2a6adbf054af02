/// Where the executor is in a kernel: the block's grid coordinates, the loop iterations
/// enclosing the statement (outermost first) and the statement's line; traces and
/// diagnostics say it.
struct BlockPosition {
    var block: [Int] = []
    var loops: [(name: String, value: Int)] = []
    var line = 0
}
