// swift-tools-version:6.0
// AttnSim: a memory/IO simulator and cost modeler for attention.
// No third-party packages: Foundation, XCTest and Swift Testing only.
import PackageDescription

/// Release builds on Linux link the Swift runtime and Foundation statically, so
/// `.build/release/attnsim` needs nothing of the toolchain (only libc, libm, libstdc++ and
/// libgcc_s). Every module is compiled with `-static-stdlib` too: Foundation's static
/// archive expects it, and the executable alone with the flag does not link. Debug builds
/// (`swift build`, `swift test`) stay dynamic: XCTest links the shared Foundation.
let staticRuntime: [SwiftSetting] = [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))]

let package = Package(
    name: "AttnSim",
    products: [
        .executable(name: "attnsim", targets: ["attnsim"]),
        .library(name: "AttnSim", targets: ["AttnScenario", "AttnReport"]),
    ],
    targets: [
        // JSON: a strict reader whose errors name the file and the field path, and a writer.
        .target(name: "AttnJSON", dependencies: ["AttnNumerics"]),
        // Storage dtypes, host tensors, seeded inputs and the float64 reference.
        .target(name: "AttnNumerics"),
        // Hardware profiles: memory levels with capacity and bandwidth, SMs, peak rates.
        .target(
            name: "AttnHardware",
            dependencies: ["AttnNumerics", "AttnJSON"],
            // The profiles are compiled in (BuiltinProfiles.generated.swift, made by
            // scripts/embed-resources.py), so the binary needs no resource bundle.
            exclude: ["Profiles"]
        ),
        // The tile language: lexer, parser, static checks, diagnostics; the built-ins and the
        // numeric references as values (one definition each: signature, count rule, meaning).
        .target(name: "TileLanguage", dependencies: ["AttnNumerics"]),
        // Replays a checked program over the memory hierarchy, numeric or count-only.
        .target(
            name: "TileInterpreter",
            dependencies: ["TileLanguage", "AttnHardware", "AttnNumerics", "AttnJSON"]
        ),
        // The built-in algorithms, written as .tile programs.
        .target(
            name: "AttnAlgorithms",
            dependencies: ["TileLanguage", "AttnNumerics"],
            // Compiled in: BuiltinPrograms.generated.swift (scripts/embed-resources.py).
            exclude: ["Programs"]
        ),
        // What is run: model specs and decoder blocks, their presets, request traces and
        // the shapes of operators that are not attention (GEMM, norm, collective).
        .target(
            name: "Workload",
            dependencies: ["AttnJSON", "AttnNumerics"],
            // Compiled in: BuiltinModels.generated.swift (scripts/embed-resources.py).
            exclude: ["Models"]
        ),
        // KV-cache footprint, capacity and paged memory management (no tile language).
        .target(name: "KVCache", dependencies: ["Workload", "AttnHardware", "AttnNumerics"]),
        // Cost model: occupancy and waves, the L2 filter, time, roofline, calibration.
        .target(
            name: "CostModel",
            dependencies: ["TileInterpreter", "TileLanguage", "AttnHardware", "AttnNumerics"]
        ),
        // The one pipeline every command runs a program through: load, bind, count, predict.
        .target(
            name: "AttnPipeline",
            dependencies: ["AttnAlgorithms", "CostModel", "TileInterpreter", "TileLanguage", "AttnHardware", "AttnNumerics"]
        ),
        // Validation of the cost model against measured GPU counters.
        .target(
            name: "Calibration",
            dependencies: ["AttnPipeline", "CostModel", "AttnAlgorithms", "TileInterpreter", "AttnHardware", "AttnNumerics"]
        ),
        // A whole decoder model: operators per layer (GEMMs as tile programs), parameters,
        // TTFT/TPOT, pruning, tensor and context parallelism over an interconnect.
        .target(
            name: "AttnModel",
            dependencies: ["AttnPipeline", "CostModel", "AttnAlgorithms", "TileInterpreter", "TileLanguage", "KVCache", "Workload", "AttnHardware", "AttnNumerics"],
            // Compiled in: ModelPrograms.generated.swift (scripts/embed-resources.py).
            exclude: ["Programs"]
        ),
        // Scenario files of every study kind, the runner that produces attention records and
        // the study runner that runs any kind (attention, kv, paged, model).
        .target(
            name: "AttnScenario",
            dependencies: [
                "AttnModel", "AttnPipeline", "TileInterpreter", "TileLanguage", "AttnAlgorithms", "KVCache", "Workload", "AttnHardware", "AttnNumerics",
                "AttnJSON", "CostModel",
            ]
        ),
        // Table, markdown, CSV and JSON renderings of run records.
        .target(
            name: "AttnReport",
            dependencies: ["AttnScenario", "AttnModel", "KVCache", "Calibration", "CostModel", "TileInterpreter", "TileLanguage", "AttnJSON", "AttnNumerics"]
        ),
        // Self-contained HTML pages of the reports: the JSON of AttnReport embedded, charts
        // drawn by a compiled-in script (PageScripts/PageStyles.generated.swift, made by
        // scripts/embed-resources.py from Resources/).
        .target(
            name: "AttnHTML",
            dependencies: ["AttnReport", "AttnScenario", "AttnModel", "KVCache", "Calibration"],
            exclude: ["Resources"]
        ),
        // Command-line parsing and commands; returns exit codes, never exits itself.
        .target(
            name: "AttnCLI",
            dependencies: [
                "AttnPipeline", "AttnScenario", "AttnReport", "AttnHTML", "AttnModel", "KVCache", "Workload", "CostModel", "Calibration",
                "AttnAlgorithms", "TileInterpreter", "TileLanguage", "AttnJSON", "AttnNumerics", "AttnHardware",
            ]
        ),
        // The thin executable: hands argv to AttnCLI and exits with its code.
        .executableTarget(name: "attnsim", dependencies: ["AttnCLI"]),
        // Test support (Tests/): shared helpers, not part of the tool. AttnTestSupport sits just
        // above AttnHardware (paths, failures, shapes, seeded inputs, the H100 profile), so the
        // targets of the bottom modules can use it; TileTestSupport binds and runs programs
        // (the built-in programs are the fixtures of every test that runs the interpreter).
        .target(name: "AttnTestSupport", dependencies: ["AttnHardware", "AttnNumerics"], path: "Tests/AttnTestSupport"),
        .target(
            name: "TileTestSupport",
            dependencies: ["AttnTestSupport", "AttnAlgorithms", "TileInterpreter", "TileLanguage", "AttnHardware", "AttnNumerics"],
            path: "Tests/TileTestSupport"
        ),
        // One test target per module, importing that module, modules it depends on and the
        // support above; AttnAlgorithmsTests also runs the programs (the interpreter and the
        // cost model, what AttnPipeline puts together).
        .testTarget(name: "AttnNumericsTests", dependencies: ["AttnNumerics", "AttnTestSupport"]),
        .testTarget(name: "AttnHardwareTests", dependencies: ["AttnHardware", "AttnJSON", "AttnNumerics"]),
        .testTarget(name: "KVCacheTests", dependencies: ["KVCache", "Workload", "AttnHardware", "AttnNumerics", "AttnTestSupport"]),
        .testTarget(
            name: "TileInterpreterTests",
            dependencies: ["TileInterpreter", "TileLanguage", "AttnHardware", "AttnNumerics", "AttnTestSupport", "TileTestSupport"]
        ),
        .testTarget(
            name: "AttnAlgorithmsTests",
            dependencies: ["AttnAlgorithms", "CostModel", "TileInterpreter", "TileLanguage", "AttnHardware", "AttnNumerics", "AttnTestSupport", "TileTestSupport"]
        ),
        .testTarget(
            name: "CostModelTests",
            dependencies: ["CostModel", "TileInterpreter", "AttnHardware", "AttnJSON", "AttnNumerics", "AttnTestSupport", "TileTestSupport"]
        ),
        .testTarget(
            name: "CalibrationTests",
            dependencies: ["Calibration", "CostModel", "TileInterpreter", "AttnHardware", "AttnNumerics", "AttnTestSupport", "TileTestSupport"]
        ),
        .testTarget(
            name: "AttnModelTests",
            dependencies: [
                "AttnModel", "AttnPipeline", "CostModel", "AttnAlgorithms", "TileInterpreter", "TileLanguage", "KVCache", "Workload", "AttnHardware",
                "AttnNumerics", "AttnTestSupport",
            ]
        ),
        .testTarget(
            name: "AttnScenarioTests",
            dependencies: [
                "AttnScenario", "AttnModel", "CostModel", "TileInterpreter", "KVCache", "Workload", "AttnHardware", "AttnNumerics", "AttnTestSupport",
                "TileTestSupport",
            ]
        ),
        .testTarget(
            name: "AttnReportTests",
            dependencies: ["AttnReport", "AttnScenario", "AttnPipeline", "CostModel", "TileInterpreter", "AttnJSON", "AttnNumerics", "AttnTestSupport"]
        ),
        // End to end: the command line, scenario files, the binary, the docs, fuzzing, and
        // tests that cross several modules.
        .testTarget(
            name: "AttnSimTests",
            dependencies: [
                "AttnJSON", "AttnNumerics", "AttnHardware", "TileLanguage", "TileInterpreter",
                "AttnAlgorithms", "AttnPipeline", "AttnScenario", "AttnReport", "AttnHTML", "AttnModel", "AttnCLI", "KVCache", "Workload", "CostModel", "Calibration",
                "AttnTestSupport", "TileTestSupport",
            ]
        ),
    ]
)

// Every module of the tool, present and future, is built for the static runtime in release
// (see `staticRuntime`); the executable also links with it.
for target in package.targets where target.type != .test {
    target.swiftSettings = (target.swiftSettings ?? []) + staticRuntime
    if target.type == .executable {
        target.linkerSettings = (target.linkerSettings ?? []) + [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))]
    }
}
