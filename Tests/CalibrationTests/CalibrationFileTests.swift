import Foundation
import Testing
@testable import AttnHardware
import Calibration
import CostModel
@testable import TileInterpreter
import AttnTestSupport

/// The calibration files, the kernel table and the profiles as inputs: every bad one is an
/// error naming the file, the line and the column (or field); the three H100 files are
/// all predicted, within the figures docs/cost-model.md reports.
@Suite struct CalibrationFileTests {
    typealias S = TestSupport

    static let header = CalibrationCSV.header

    @Test(arguments: [
        (header + "\n", "t.csv: line 1: the header has no rows after it; expected at least one measured call"),
        (header + ",extra\nr,p,flash2,1,2,2,8,8,64,0,0,,,,fp16,0,5,0,0,0,0.1,k,1\n",
         "t.csv: line 1: column 23 'extra': unknown column; expected the columns of docs/data/README.md"),
        (header + ",name\nr,p,flash2,1,2,2,8,8,64,0,0,,,,fp16,0,5,0,0,0,0.1,k,r\n",
         "t.csv: line 1: column 23 'name': appears twice in the header (columns 1 and 23)"),
        (header + "\nr,p,flash2,1,2,2,8,8,64,0,0,,,,fp16,0,5,0,0,0,0.1,k,9\n", "t.csv: line 2: 23 cells; the header has 22 columns"),
        (header + "\n\nr,p,flash2,1,2,2,8,8,64,2,0,,,,fp16,0,5,0,0,0,0.1,k\n", "t.csv: line 3: column 10 'causal': expected 0 or 1, found '2'"),
        (header + ",layout\nr,p,flash2,1,2,2,8,8,64,0,0,,,,fp16,0,5,0,0,0,0.1,k,ring\n", "t.csv: line 2: column 23 'layout': expected paged or contiguous, found 'ring'"),
        ("", "t.csv: empty file; expected the calibration header"),
    ])
    func csvStructureIsChecked(_ text: String, _ expected: String) {
        do {
            _ = try CalibrationRow.parse(text, file: "t.csv")
            Issue.record("no error for \(text)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }

    /// The released paged kernel maps to its program with the page size and splits of the
    /// row, launched directly; a user's table is tried first; a row nothing maps says so.
    @Test func kernelTable() throws {
        let text = Self.header + ",page_size,layout\n"
            + "p,triton-paged-decode,paged-decode,8,32,8,1,30001,128,0,0,,16,8,fp16,0,1,1,1,1,2.7,paged_split combine,16,paged\n"
            + "m,my-kernel,flash-decoding,1,4,4,1,4096,64,0,0,,64,4,fp16,0,1,1,1,1,0.1,k,,\n"
            + "u,other,no-such-family,1,2,2,64,64,64,0,0,,,,fp16,0,1,1,1,1,0.1,k,,\n"
        let rows = try CalibrationRow.parse(text, file: "t.csv")
        let paged = try RowMapping.map(rows[0]).get()
        #expect(paged.program == "paged-decode-triton" && paged.launch == .direct)
        #expect(paged.parameters["P"] == .int(16) && paged.parameters["S"] == .int(8))
        // Built-in: flash-decoding by algorithm, splits from the row.
        #expect(try RowMapping.map(rows[1]).get().program == "flash-decoding")
        let user = try KernelTable.parse(
            "implementation,algorithm,backward,program,launch,parameters\nmy-kernel,,0,paged-decode-triton,direct,P=block_n S=splits|1 num=3\n",
            file: "k.csv")
        let mine = try KernelTable.builtIn.extended(with: user).map(rows[1]).get()
        #expect(mine.program == "paged-decode-triton" && mine.parameters["P"] == .int(64) && mine.parameters["S"] == .int(4))
        #expect(mine.parameters["num"] == .int(3) && mine.launch == .direct)
        switch RowMapping.map(rows[2]) {
        case .success: Issue.record("expected no mapping")
        case .failure(let error): #expect(error.description.hasPrefix("no program models implementation 'other', algorithm 'no-such-family'"))
        }
        for (file, expected) in [
            ("implementation,algorithm\n", "k.csv: line 1: expected the header implementation,algorithm,backward,program,launch,parameters"),
            ("implementation,algorithm,backward,program,launch,parameters\nx,,2,p,direct,\n", "k.csv: line 2: column 3 'backward': expected 0, 1 or an empty cell, found '2'"),
            ("implementation,algorithm,backward,program,launch,parameters\nx,,0,p,fast,\n", "k.csv: line 2: column 5 'launch': expected framework or direct, found 'fast'"),
            ("implementation,algorithm,backward,program,launch,parameters\nx,,0,p,direct,Br=rows\n", "k.csv: line 2: column 6 'parameters': 'rows' is not a column a parameter can come from"),
        ] {
            do {
                _ = try KernelTable.parse(file, file: "k.csv")
                Issue.record("no error for \(file)")
            } catch {
                #expect(error.description.hasPrefix(expected), "\(error.description)")
            }
        }
    }

    /// Profile figures outside their physical range, and fitted constants in a profile, are
    /// errors naming the file and the field.
    @Test(arguments: [
        ("\"clock_hz\": 1980000000.0", "\"clock_hz\": 1e-300", "gpu.json: clock_hz: expected a number from 1e+08 to 1e+10 (Hz), found 1e-300"),
        ("\"hbm_bytes_per_second\": 3350000000000.0", "\"hbm_bytes_per_second\": 3.35e18", "gpu.json: hbm_bytes_per_second: expected a number from 1e+09 to 1e+15 (bytes/s), found 3.35e+18"),
        ("\"warp_size\": 32", "\"warp_size\": 48", "gpu.json: warp_size: expected 32 (an NVIDIA warp) or 64 (an AMD CDNA wavefront), found 48"),
        ("\"dram_latency_seconds\": 6e-07", "\"dram_latency_seconds\": 6e-07, \"cost_model\": {}", "gpu.json: cost_model: a profile holds datasheet figures only"),
        ("\"l2_latency_seconds\": 3e-07", "\"l2_latency_seconds\": 3e-06", "gpu.json: l2_latency_seconds: exceeds dram_latency_seconds"),
    ])
    func profileFiguresAreChecked(_ original: String, _ replacement: String, _ expected: String) throws {
        let text = try #require(BuiltinProfiles.sources["h100-sxm"])
        #expect(text.contains(original))
        do {
            _ = try HardwareProfile(jsonText: text.replacingOccurrences(of: original, with: replacement), file: "gpu.json")
            Issue.record("no error for \(replacement)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }

    // MARK: The three H100 files

    struct Figures {
        var dramRead: ErrorSummary, dramWrite: ErrorSummary, l2Read: ErrorSummary, time: ErrorSummary
    }

    static let files = ["h100-sdpa.csv", "h100-triton-d64.csv", "h100-triton-paged.csv"]

    static func figures(_ records: [ValidationRecord]) throws -> Figures {
        func summary(_ error: (ValidationRecord) -> Double?) throws -> ErrorSummary { try #require(ErrorSummary(records.compactMap(error))) }
        return Figures(dramRead: try summary(\.dramReadError), dramWrite: try summary(\.dramWriteError),
                       l2Read: try summary(\.l2ReadError), time: try summary(\.timeError))
    }

    static func records(_ files: [String] = files) throws -> [ValidationRecord] {
        var records: [ValidationRecord] = []
        for file in files {
            let path = repositoryRoot.appendingPathComponent("docs/data/\(file)").path
            records += Validator(hardware: S.h100).validate(try CalibrationRow.parse(try String(contentsOfFile: path, encoding: .utf8), file: path))
        }
        return records
    }

    /// All 113 rows of the three files are predicted; the figures reached (docs/cost-model.md,
    /// "Figures") hold within 1 percentage point, so a change that makes the model worse
    /// fails here. Issue 17's targets, where reached, are the bound: time median <= 7% and
    /// p90 <= 20%, SM->L2 median <= 5% and p90 <= 25%, DRAM write median <= 15%.
    @Test func figuresOnTheThreeFiles() throws {
        let records = try Self.records()
        #expect(records.count == 113)
        #expect(records.allSatisfy { $0.prediction != nil }, "\(records.filter { $0.prediction == nil }.map(\.row.name))")
        let f = try Self.figures(records)
        #expect(f.l2Read.median <= 5 && f.l2Read.p90 <= 25, "\(f.l2Read)")
        #expect(f.dramWrite.median <= 15, "\(f.dramWrite)")
        #expect(f.dramRead.median <= 0.2 + 1 && f.dramRead.p90 <= 4.4 + 1, "\(f.dramRead)")
        #expect(f.time.median <= 7 && f.time.p90 <= 20, "\(f.time)")
        #expect(f.time.median <= 6.6 + 1 && f.time.p90 <= 18.6 + 1, "\(f.time)")
        // Per file: each file's time and the SDPA file's SM->L2 reads.
        let paged = try Self.figures(records.filter { $0.row.file.hasSuffix("h100-triton-paged.csv") })
        #expect(paged.time.median <= 6.5 + 1 && paged.time.p90 <= 14.5 + 1, "\(paged.time)")
        let triton = try Self.figures(records.filter { $0.row.file.hasSuffix("h100-triton-d64.csv") })
        #expect(triton.dramRead.p90 <= 2.1 + 1, "\(triton.dramRead)")
        #expect(triton.time.median <= 8.4 + 1 && triton.time.p90 <= 19.7 + 1, "\(triton.time)")
        let sdpa = try Self.figures(records.filter { $0.row.file.hasSuffix("h100-sdpa.csv") })
        #expect(sdpa.l2Read.median <= 2.4 + 1 && sdpa.l2Read.p90 <= 14.4 + 1, "\(sdpa.l2Read)")
        #expect(sdpa.time.median <= 6.1 + 1 && sdpa.time.p90 <= 18.2 + 1, "\(sdpa.time)")
    }
}
