import AttnNumerics
import TileLanguage

extension Interpreter {
    /// The codes of a `quantize(K, KS, KZ, format)` input (tensor `index`): K's values
    /// quantized in groups along its last dimension (`KVQuantFormat.quantize`), the groups'
    /// scales and zero points written into KS and KZ at their dtypes. K itself stays as
    /// generated: the reference reads the unquantized values, the kernels the codes.
    func quantizedInput(_ quantize: QuantizeInitializer, index: Int, into tensors: inout [HostTensor]) throws(Diagnostic) -> HostTensor {
        let declaration = bound.program.tensors[index]
        let code = try ScalarEvaluator.evaluate(quantize.format, parameters: bound.parameterValues, source: source)
        guard case .int(let number) = code, let format = KVQuantFormat(rawValue: number) else {
            throw Diagnostic(.bounds, source, declaration.location, "the format of 'quantize' is 0 (fp8e4m3), 1 (fp8e5m2), 2 (int8), 3 (int4) or 4 (fp4e2m1), found \(code)")
        }
        let shape = bound.tensorShapes[index]
        let kShape = bound.tensorShapes[quantize.source], sShape = bound.tensorShapes[quantize.scales]
        let zShape = bound.tensorShapes[quantize.zeros]
        let columns = kShape.last ?? 0, groups = sShape.last ?? 0
        let leading = Array(kShape.dropLast())
        guard shape.count == kShape.count, Array(shape.dropLast()) == leading, Array(sShape.dropLast()) == leading, zShape == sShape,
            (shape.last ?? 0) * format.codesPerByte == columns, groups > 0, columns % groups == 0
        else {
            throw Diagnostic(.bounds, source, declaration.location, "'quantize' needs \(quantize.sourceName) [..., d], codes [..., d / \(format.codesPerByte)] and scales and zeros [..., groups] with groups dividing d; found \(kShape), \(shape), \(sShape) and \(zShape)")
        }
        let scaleType = bound.tensorDTypes[quantize.scales], zeroType = bound.tensorDTypes[quantize.zeros]
        guard let result = format.quantize(tensors[quantize.source].values, columns: columns, group: columns / groups, roundScale: scaleType.round, roundZero: zeroType.round) else {
            throw Diagnostic(.bounds, source, declaration.location, "'quantize' cannot split rows of \(columns) elements into \(groups) groups")
        }
        tensors[quantize.scales].values = result.scales
        tensors[quantize.zeros].values = result.zeros
        var codes = HostTensor(shape: shape, dtype: .u8)
        codes.values = result.codes
        return codes
    }
}
