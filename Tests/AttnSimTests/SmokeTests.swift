import Testing
@testable import TileInterpreter

@Test func smokeFlash2() throws {
    for algorithm in ["flash2", "flash1", "standard"] {
        let bound = try TestSupport.bind(algorithm, TestSupport.shape(n: 100, d: 16), params: algorithm == "flash2" ? ["Br": 32, "Bc": 48] : [:])
        let result = try TestSupport.numeric(bound)
        print(algorithm, result.checks.map { "\($0.tensor) \($0.error.maxRelativeError)" })
        let c = try TestSupport.count(bound)
        let e = try TestSupport.count(bound, compress: false)
        print(c.total.hbmReadBytes, e.total.hbmReadBytes, result.stats.total.hbmReadBytes, c.total.peakSramBytes, c.total.peakRegisterBytes)
        #expect(c == result.stats)
        #expect(e == result.stats)
    }
}
