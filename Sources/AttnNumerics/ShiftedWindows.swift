/// The windows of Swin Transformer's window attention (Liu et al., "Swin Transformer:
/// Hierarchical Vision Transformer using Shifted Windows", ICCV 2021, Section 3.2) over a
/// grid of gridHeight x gridWidth patch tokens: tokens attend only to tokens of their own
/// M x M window. A shifted block moves the window boundaries by s = shift patches (Swin
/// uses M / 2), which leaves partial windows at the borders: the paper batches them by a
/// cyclic shift of the map toward the top left and a mask (its "efficient batch
/// computation for shifted configuration").
///
/// This type is the definition without the batching trick: tokens are laid out as the
/// shifted map holds them (token y * gridWidth + x is the patch at ((y + s) mod gridHeight,
/// (x + s) mod gridWidth) of the image), and two tokens see each other when their image
/// positions fall in the same window of the shifted partition, whose boundaries lie at
/// rows s, s + M, s + 2M, ... (and likewise columns); the rows above s form a window of
/// their own. With s = 0 it is the plain partition into M x M windows.
public struct ShiftedWindows: Sendable, Equatable {
    public let gridHeight: Int
    public let gridWidth: Int
    /// M: patches per window side.
    public let window: Int
    /// s: the shift, in patches (0 ..< M).
    public let shift: Int

    /// nil unless the grid is whole windows of M > 0 and 0 <= shift < M.
    public init?(gridHeight: Int, gridWidth: Int, window: Int, shift: Int) {
        guard window > 0, gridHeight > 0, gridWidth > 0, gridHeight % window == 0, gridWidth % window == 0, shift >= 0, shift < window else { return nil }
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.window = window
        self.shift = shift
    }

    /// The window of token `token` (in the shifted layout) in the shifted partition of
    /// the image: (row, column) of windows, -1 for the partial windows above and left of
    /// the first boundary.
    public func windowOf(token: Int) -> (row: Int, column: Int) {
        let y = (token / gridWidth + shift) % gridHeight, x = (token % gridWidth + shift) % gridWidth
        return (Self.floorDivide(y - shift, window), Self.floorDivide(x - shift, window))
    }

    /// Whether tokens a and b (shifted layout) see each other.
    public func sameWindow(_ a: Int, _ b: Int) -> Bool { windowOf(token: a) == windowOf(token: b) }

    private static func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
