import Foundation
import Testing
import AttnTestSupport

/// Package.swift declares exactly the modules each target imports, so a boundary cannot be
/// crossed by accident (an undeclared import links by luck, or not at all after a change in
/// the module it reaches) and a declared dependency that is no longer used is removed.
@Suite struct PackageBoundaryTests {
    /// Modules of the toolchain, which Package.swift does not list.
    static let toolchainModules: Set<String> = [
        "Foundation", "FoundationEssentials", "Testing", "XCTest", "Glibc", "Musl", "Darwin", "Dispatch", "Synchronization",
    ]

    /// Each target's declared dependencies, read from Package.swift: the `dependencies: [...]`
    /// list that follows `name: "TARGET"` (a target with none declares none).
    static func declaredDependencies() throws -> [String: Set<String>] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        var result: [String: Set<String>] = [:]
        let target = try Regex(#"\.(?:target|executableTarget|testTarget)\(\s*name:\s*"([A-Za-z0-9_]+)"(?:\s*,\s*dependencies:\s*\[([^\]]*)\])?"#)
        for match in text.matches(of: target) {
            guard let name = match.output[1].substring.map(String.init) else { continue }
            let list = match.output[2].substring.map(String.init) ?? ""
            let names = list.matches(of: try Regex(#""([A-Za-z0-9_]+)""#)).compactMap { $0.output[1].substring.map(String.init) }
            result[name] = Set(names)
        }
        return result
    }

    /// The modules a folder's Swift files import (any access level, `@testable` included).
    static func imports(under folder: URL) throws -> Set<String> {
        var modules: Set<String> = []
        let line = try Regex(#"^(?:@testable\s+)?(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+([A-Za-z0-9_]+)"#)
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        for case let url as URL in files where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for row in text.split(separator: "\n") {
                if let match = row.firstMatch(of: line), let module = match.output[1].substring {
                    modules.insert(String(module))
                }
            }
        }
        return modules.subtracting(toolchainModules)
    }

    @Test func everyTargetDeclaresExactlyWhatItImports() throws {
        let declared = try Self.declaredDependencies()
        let sources = repositoryRoot.appendingPathComponent("Sources")
        let tests = repositoryRoot.appendingPathComponent("Tests")
        var checked = 0
        for root in [sources, tests] {
            for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
                let folder = root.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
                guard let dependencies = declared[name] else {
                    Issue.record("\(root.lastPathComponent)/\(name) is not a target in Package.swift")
                    continue
                }
                let imported = try Self.imports(under: folder)
                #expect(imported.subtracting(dependencies).sorted() == [], "\(name) imports modules Package.swift does not declare")
                #expect(dependencies.subtracting(imported).sorted() == [], "\(name) declares dependencies it does not import")
                checked += 1
            }
        }
        #expect(checked == declared.count, "every target of Package.swift has a folder")
        try Self.checkTestTargetsStayBelowTheirModule(declared)
        try Self.checkTheDocumentedGraph(declared)
    }

    /// docs/ARCHITECTURE.md draws every target with dependencies as `NAME <- A, B`: the
    /// graph it shows is Package.swift's.
    static func checkTheDocumentedGraph(_ declared: [String: Set<String>]) throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let arrow = try Regex(#"^ *([A-Za-z0-9_]+) *<- *(.+)$"#)
        var documented: [String: Set<String>] = [:]
        for row in text.split(separator: "\n") {
            guard let match = row.firstMatch(of: arrow), let name = match.output[1].substring, let list = match.output[2].substring else { continue }
            documented[String(name)] = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        for (name, dependencies) in declared where !dependencies.isEmpty {
            #expect(documented[name] == dependencies, "docs/ARCHITECTURE.md: \(name)'s arrow differs from Package.swift")
        }
        #expect(Set(documented.keys).subtracting(declared.keys).sorted() == [], "docs/ARCHITECTURE.md draws targets Package.swift lacks")
    }

    /// Modules a test target may import beyond its module's own dependencies (with
    /// theirs): the built-in programs are tested by running them (interpreter and cost model).
    static let harness: [String: Set<String>] = ["AttnAlgorithmsTests": ["TileInterpreter", "CostModel"]]

    /// A test target named after a module (`KVCacheTests`) imports that module, modules the
    /// module depends on (directly or not), the test support and its `harness`, never a
    /// module that depends on it: a module's tests do not reach the layers above it.
    static func checkTestTargetsStayBelowTheirModule(_ declared: [String: Set<String>]) throws {
        func closure(_ module: String) -> Set<String> {
            var seen: Set<String> = [], stack = [module]
            while let next = stack.popLast() {
                for dependency in declared[next] ?? [] where seen.insert(dependency).inserted { stack.append(dependency) }
            }
            return seen
        }
        let tests = repositoryRoot.appendingPathComponent("Tests")
        let support = try FileManager.default.contentsOfDirectory(atPath: tests.path).filter { $0.hasSuffix("TestSupport") }
        var moduleTargets = 0
        for (target, dependencies) in declared where target.hasSuffix("Tests") && target != "AttnSimTests" {
            let module = String(target.dropLast("Tests".count))
            guard declared[module] != nil else {
                Issue.record("\(target) is named after no module of Package.swift")
                continue
            }
            #expect(dependencies.contains(module), "\(target) does not import \(module)")
            let harnessModules = (harness[target] ?? []).reduce(into: Set<String>()) { $0.formUnion(closure($1).union([$1])) }
            let allowed = closure(module).union([module]).union(support).union(harnessModules)
            #expect(dependencies.subtracting(allowed).sorted() == [], "\(target) imports modules above \(module)")
            moduleTargets += 1
        }
        #expect(moduleTargets >= 10, "the tests are split per module")
    }
}
