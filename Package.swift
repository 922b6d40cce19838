// swift-tools-version: 6.0
import PackageDescription

// scripts/build passes the commit so that results name the code that made them.
let buildCommit = Context.environment["CATBENCH_COMMIT"].map { String($0.filter { $0.isHexDigit }.prefix(40)) } ?? ""
// scripts/test-sanitizers sets CATBENCH_SANITIZE: AddressSanitizer and
// ThreadSanitizer must own malloc, so jemalloc gives way to a stub and
// allocation counts are reported as not measured.
let sanitized = Context.environment["CATBENCH_SANITIZE"] != nil

/// catbench: one binary that compares web-server designs feature by feature.
/// Module map (one responsibility each, like SwiftNIO's split):
/// - `Catbench`       the executable: a thin CLI on swift-argument-parser
/// - `Runner`         runs suites on servers: verify, warm up, repeat, measure
/// - `Results`        the result document and its renderers
/// - `LoadGen`        the HTTP load generator (per-thread epoll loops)
/// - `Accounting`     jemalloc arenas and counters, thread CPU clocks, RSS, pinning
/// - `Posix`          threads, sockets, clocks and errors over Glibc
/// - `WireFormat`     small HTTP helpers shared by the Swift stacks (dates, reasons)
/// - `SuiteKit`       what every suite uses: contract types, verifier, probe client, services, StackName
/// - `Suites`         one folder per suite (contract, shared logic, a registration per stack) and the catalog
/// - `CCatCore`       the C core of the ccore stack (parser, router, epoll loop)
/// - `CCoreStack`, `AsyncStack`, `ThreadedStack`  the three embedded frameworks
/// - `Peers`          external framework servers: bundled apps, install, nginx
let package = Package(
    name: "catbench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "catbench", targets: ["Catbench"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The async design's PostgreSQL driver (and ccore's, bridged off the loop).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System libraries: static archives in the release build, shared ones in debug.
        sanitized
            ? .target(name: "CJemalloc", path: "Sources/System/CJemallocStub")
            : .systemLibrary(name: "CJemalloc", path: "Sources/System/CJemalloc"),
        .systemLibrary(name: "CNghttp2", path: "Sources/System/CNghttp2"),
        .systemLibrary(name: "COpenSSL", path: "Sources/System/COpenSSL"),
        // Debian's SQLite, for the database suite's ccore and threaded stacks and its checks.
        .systemLibrary(name: "CSQLite", path: "Sources/System/CSQLite"),

        // The C core calls nghttp2 (HTTP/2) and OpenSSL (TLS); depending on their
        // system-library targets carries the link flags to every product.
        .target(
            name: "CCatCore",
            dependencies: ["CNghttp2", "COpenSSL"],
            path: "Sources/Frameworks/CCatCore"
        ),
        .target(name: "CPosix", path: "Sources/System/CPosix"),
        .target(
            name: "CBuildInfo",
            path: "Sources/System/CBuildInfo",
            cSettings: buildCommit.isEmpty ? [] : [.define("CATBENCH_COMMIT", to: "\"\(buildCommit)\"")]
        ),
        .target(name: "CTLSShim", dependencies: ["COpenSSL"], path: "Sources/System/CTLSShim"),
        // The threaded stack's server side of TLS (a socket BIO, ALPN, OpenSSL's macros).
        .target(name: "CTLSServerShim", dependencies: ["COpenSSL"], path: "Sources/System/CTLSServerShim"),
        .target(name: "Posix", dependencies: ["CPosix"]),
        .target(name: "WireFormat"),
        .target(
            name: "Accounting",
            dependencies: [
                "CJemalloc", "Posix",
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: sanitized ? [.define("CATBENCH_SANITIZED")] : []
        ),
        // The harness's own self-signed certificate for TLS runs (no stack under test makes it).
        .target(name: "CSelfSigned", dependencies: ["COpenSSL"], path: "Sources/System/CSelfSigned"),
        // The kit every suite uses: contract types, verifier, probe client, services, StackName.
        .target(name: "SuiteKit", dependencies: ["WireFormat", "Posix"]),
        .target(
            name: "CCoreStack",
            dependencies: ["CCatCore", "WireFormat", "Posix"],
            path: "Sources/Frameworks/CCoreStack"
        ),
        .target(
            name: "AsyncStack",
            dependencies: [
                "WireFormat", "Posix",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/Frameworks/AsyncStack"
        ),
        .target(
            name: "ThreadedStack",
            dependencies: [
                "WireFormat", "Posix", "CTLSServerShim",
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Sources/Frameworks/ThreadedStack"
        ),
        // One folder per suite (contract, shared business logic, one registration
        // per stack), the catalog that lists them, and the servers that host them.
        .target(
            name: "Suites",
            dependencies: [
                "SuiteKit", "CCoreStack", "AsyncStack", "ThreadedStack", "COpenSSL", "CSQLite", "Posix", "WireFormat",
                "Accounting",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "LoadGen",
            dependencies: [
                "CNghttp2", "COpenSSL", "CTLSShim", "Posix",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .target(
            name: "Results"
        ),
        // The external framework servers: bundled apps (generated from peers/),
        // their manifest, installation into a virtual environment, nginx.
        .target(
            name: "Peers",
            dependencies: ["Posix"]
        ),
        .target(
            name: "Runner",
            dependencies: [
                "LoadGen", "SuiteKit", "Suites", "Accounting", "Results", "CBuildInfo", "Peers", "CSelfSigned",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "Catbench",
            dependencies: [
                "Runner", "Results", "LoadGen", "SuiteKit", "Suites", "Posix", "Peers",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // The shared HTTP/1.1 request corpus, read by the parser tests of two stacks.
        .target(name: "ParserCorpus", path: "Tests/ParserCorpus"),
        .testTarget(
            name: "CCoreStackTests", dependencies: ["CCoreStack", "CCatCore", "SuiteKit", "Suites", "ParserCorpus"]),
        .testTarget(name: "ThreadedStackTests", dependencies: ["ThreadedStack", "ParserCorpus", "Posix", "COpenSSL"]),
        .testTarget(
            name: "ContractTests", dependencies: ["SuiteKit", "Suites", "Runner", "Accounting", "ThreadedStack"]),
        .testTarget(
            name: "LoadGenTests",
            dependencies: [
                "Accounting", "ThreadedStack", .product(name: "Atomics", package: "swift-atomics"),
                "LoadGen", "Suites", "SuiteKit", "Runner", .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        .testTarget(
            name: "AccountingTests",
            dependencies: [
                "Accounting", "Posix", .product(name: "Atomics", package: "swift-atomics"),
            ]),
        .testTarget(
            name: "RunnerTests",
            dependencies: ["Runner", "Results", "Suites", "SuiteKit", "Accounting", "LoadGen", "Posix"]),
        .testTarget(name: "ResultsTests", dependencies: ["Results"]),
        .testTarget(name: "WireFormatTests", dependencies: ["WireFormat"]),
        .testTarget(name: "SuitesTests", dependencies: ["Suites", "SuiteKit"]),
        .testTarget(
            name: "DITests", dependencies: ["CCoreStack", "AsyncStack", "ThreadedStack", "Suites", "SuiteKit", "Posix"]),
        .testTarget(name: "PeersTests", dependencies: ["Peers", "Posix", "Accounting", "SuiteKit", "Suites"]),
        .testTarget(name: "CatbenchTests", dependencies: []),
    ]
)
