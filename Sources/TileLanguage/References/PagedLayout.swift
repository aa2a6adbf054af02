import AttnNumerics

/// The page layout of a paged KV cache, for the reference.
package enum PagedLayout {
    /// Contiguous [batch*kv_heads, Nkv, d] keys (or values) gathered from a page pool
    /// [pages, kv_heads, page_size, d] through the block table [batch, pages per sequence]:
    /// token t of sequence b lives in page table[b, t / page_size] at slot t % page_size.
    package static func gather(
        _ pool: HostTensor, table: HostTensor, problem: ProblemShape, pageSize: Int, source: SourceFile, at location: SourceLocation
    ) throws(Diagnostic) -> HostTensor {
        func error(_ message: String) -> Diagnostic { Diagnostic(.numeric, source, location, message) }
        let d = problem.headDim, nkv = problem.keyLength, heads = problem.kvHeads
        guard pool.shape.count == 4, pool.shape[1] == heads, pool.shape[2] == pageSize, pool.shape[3] == d else {
            throw error("a page pool is [pages, kv_heads, page_size, d]; found \(pool.shape)")
        }
        guard table.shape.count == 2, table.shape[0] == problem.batch, table.shape[1] * pageSize >= nkv else {
            throw error("a block table is [batch, pages per sequence] covering Nkv tokens; found \(table.shape)")
        }
        var out = HostTensor(shape: [problem.batch * heads, nkv, d], dtype: pool.dtype)
        for b in 0..<problem.batch {
            for t in 0..<nkv {
                let page = Int(table.values[b * table.shape[1] + t / pageSize])
                guard page >= 0 && page < pool.shape[0] else {
                    throw error("block table entry \(page) is outside the pool of \(pool.shape[0]) pages")
                }
                for h in 0..<heads {
                    let from = ((page * heads + h) * pageSize + t % pageSize) * d
                    let to = ((b * heads + h) * nkv + t) * d
                    for c in 0..<d { out.values[to + c] = pool.values[from + c] }
                }
            }
        }
        return out
    }
}
