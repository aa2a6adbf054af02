/// The tree of draft tokens a speculative-decoding verify step checks (EAGLE, Li et al.
/// 2024, Section 4.2 "tree attention"; Medusa, Cai et al. 2024, Section 2.1.2): every
/// draft token attends to the cached prefix and to its ancestors in the tree, itself
/// included.
///
/// The tree here is the complete `width`-ary tree in breadth-first order, cut to as many
/// nodes as a step drafts: node 0 is the root (the first draft token, whose parent is the
/// last accepted token in the prefix) and node n > 0 has parent (n - 1) / width. Width 1
/// is a chain (one draft sequence, as in plain speculative decoding); width w > 1 gives each
/// node w candidate continuations. Medusa's and EAGLE's trees are sparser (more children
/// for likelier tokens), which changes which scores are masked, never the bytes a verify
/// step moves.
public struct DraftTree: Sendable, Equatable {
    /// Children per node.
    public let width: Int

    /// nil unless width >= 1.
    public init?(width: Int) {
        guard width >= 1 else { return nil }
        self.width = width
    }

    /// The parent of node n > 0.
    @inlinable
    public func parent(of node: Int) -> Int { (node - 1) / width }

    /// Whether `ancestor` is `node` or one of its ancestors (both >= 0). Parents come
    /// before their children, so the walk up from `node` stops at the first node not after
    /// `ancestor`.
    @inlinable
    public func isAncestor(_ ancestor: Int, ofOrSelf node: Int) -> Bool {
        var n = node
        while n > ancestor { n = parent(of: n) }
        return n == ancestor
    }

    /// Nodes on the path from the root to `node`, both included (its depth + 1).
    public func pathLength(to node: Int) -> Int {
        var n = node, count = 1
        while n > 0 {
            n = parent(of: n)
            count += 1
        }
        return count
    }
}
