import Foundation
import Testing
import AttnTestSupport

/// The pictures in docs/images come from the current code: each PNG names, in a text
/// chunk, the command whose html page it shows and the hash of that page
/// (scripts/screenshots.sh writes both); the test runs the command and hashes its page.
/// A change to the page's script, styles or numbers makes the image stale, and this test
/// says to run scripts/screenshots.sh. The README shows images that exist.
@Suite struct DocImagesTests {
    /// The tEXt chunks of a PNG file: keyword -> text.
    static func textChunks(_ data: Data) throws -> [String: String] {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw TestFailure("not a PNG file") }
        var chunks: [String: String] = [:]
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let kind = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let body = Array(bytes[(offset + 8)..<min(offset + 8 + length, bytes.count)])
            if kind == "tEXt", let zero = body.firstIndex(of: 0) {
                chunks[String(decoding: body[..<zero], as: UTF8.self)] = String(decoding: body[(zero + 1)...], as: UTF8.self)
            }
            if kind == "IEND" { break }
            offset += 12 + length
        }
        return chunks
    }

    /// 64-bit FNV-1a, as scripts/screenshots.sh computes it.
    static func fnv1a64(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    @Test func imagesShowWhatTheCodeWrites() throws {
        let folder = repositoryRoot.appendingPathComponent("docs/images")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(names.count >= 4, "docs/images holds \(names)")
        let binary = try BinaryTests.binary()
        for name in names {
            let chunks = try Self.textChunks(try Data(contentsOf: folder.appendingPathComponent(name)))
            guard let command = chunks["attnsim-command"], let hash = chunks["attnsim-page-fnv1a64"] else {
                Issue.record("docs/images/\(name) does not say what it shows: make it with scripts/screenshots.sh")
                continue
            }
            let words = command.split(separator: " ").map(String.init)
            #expect(words.first == "attnsim" && words.suffix(4) == ["--format", "html", "--output", "-"], "\(name): \(command)")
            let result = try StaticBinaryTests.run(binary.path, Array(words.dropFirst()), in: repositoryRoot, timeout: 300)
            #expect(result.status == 0, "\(name): \(command): \(result.err)")
            #expect(Self.fnv1a64(Data(result.out.utf8)) == hash, "docs/images/\(name) no longer shows what '\(command)' writes: run scripts/screenshots.sh")
        }
    }

    /// Every image README.md and docs/ link to exists.
    @Test func linkedImagesExist() throws {
        for file in ["README.md", "docs/output-format.md"] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
            let links = text.components(separatedBy: "(docs/images/").dropFirst().compactMap { $0.split(separator: ")").first }
            for link in links {
                #expect(FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("docs/images/" + link).path), "\(file) links docs/images/\(link)")
            }
        }
    }
}
