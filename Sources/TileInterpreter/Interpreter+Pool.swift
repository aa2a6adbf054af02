import AttnNumerics
import TileLanguage

extension Interpreter {
    /// The values of a `pool(K, op, l, s, n)` input (tensor `index`, [A..., blocks, d]):
    /// K [A..., ..., d] read as sequences of rows (every dimension between the leading A
    /// and the last flattened), block c the statistic of rows c s ..< c s + l before n
    /// (`BlockPooling`), rounded to the tensor's dtype.
    func pooledInput(_ pool: PoolInitializer, index: Int, from tensors: [HostTensor]) throws(Diagnostic) -> HostTensor {
        let declaration = bound.program.tensors[index]
        func size(_ e: Expr, _ what: String) throws(Diagnostic) -> Int {
            guard case .int(let value) = try ScalarEvaluator.evaluate(e, parameters: bound.parameterValues, source: source), value > 0 else {
                throw Diagnostic(.bounds, source, e.location, "the \(what) of 'pool' must be a positive integer")
            }
            return value
        }
        let length = try size(pool.length, "block length"), stride = try size(pool.stride, "stride")
        let valid = try size(pool.validRows, "number of valid rows")
        let shape = bound.tensorShapes[index], kShape = bound.tensorShapes[pool.source]
        let leading = Array(shape.dropLast(2))
        guard shape.count >= 2, kShape.count >= leading.count + 2, Array(kShape.prefix(leading.count)) == leading, kShape.last == shape.last else {
            throw Diagnostic(.bounds, source, declaration.location, "'pool' fills [A..., blocks, d] from \(pool.sourceName) [A..., rows..., d] with the same leading dimensions A and d; found \(shape) from \(kShape)")
        }
        let columns = shape[shape.count - 1], blocks = shape[shape.count - 2]
        let outer = leading.reduce(1, *)
        let rows = kShape.dropFirst(leading.count).dropLast().reduce(1, *)
        let statistic: BlockPooling.Statistic
        switch pool.statistic {
        case .mean: statistic = .mean
        case .min: statistic = .min
        case .max: statistic = .max
        }
        let dtype = bound.tensorDTypes[index]
        let pooled = BlockPooling.pool(
            tensors[pool.source].values, outer: outer, rows: rows, columns: columns, blocks: blocks, length: length, stride: stride,
            validRows: valid, statistic: statistic)
        var tensor = HostTensor(shape: shape, dtype: dtype)
        tensor.values = pooled.map { dtype.round(Float($0)) }
        return tensor
    }
}
