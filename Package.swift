// swift-tools-version:6.0
import PackageDescription

// Modules import one way, top to bottom:
// sluice → SluiceServer → SluiceHTTP, SluiceLimit → SluiceRedis → SluiceNet → CSluiceLinux, Glibc.
// (SluiceLimit also takes its shard lock straight from CSluiceLinux.)
let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SluiceNet", targets: ["SluiceNet"]),
        .library(name: "SluiceRedis", targets: ["SluiceRedis"]),
        .library(name: "SluiceLimit", targets: ["SluiceLimit"]),
    ],
    dependencies: [],
    targets: [
        .target(name: "CSluiceLinux"),
        .target(name: "SluiceNet", dependencies: ["CSluiceLinux"]),
        .target(name: "SluiceRedis", dependencies: ["SluiceNet"]),
        .target(name: "SluiceLimit", dependencies: ["SluiceRedis", "SluiceNet", "CSluiceLinux"]),
        .target(name: "SluiceHTTP", dependencies: ["SluiceNet"]),
        .target(name: "SluiceServer", dependencies: ["SluiceHTTP", "SluiceLimit", "SluiceRedis", "SluiceNet"]),
        .executableTarget(name: "sluice", dependencies: ["SluiceServer", "SluiceLimit", "SluiceRedis", "SluiceNet"]),
        .target(
            name: "SluiceTestSupport",
            dependencies: ["SluiceNet"],
            path: "Tests/SluiceTestSupport"
        ),
        .testTarget(name: "SluiceNetTests", dependencies: ["SluiceNet", "SluiceTestSupport"]),
        .testTarget(
            name: "SluiceRedisTests",
            dependencies: ["SluiceRedis", "SluiceNet", "SluiceTestSupport"]
        ),
        .testTarget(name: "SluiceHTTPTests", dependencies: ["SluiceHTTP", "SluiceNet", "SluiceTestSupport"]),
        .testTarget(
            name: "SluiceServerTests",
            dependencies: ["SluiceServer", "SluiceHTTP", "SluiceLimit", "SluiceNet", "SluiceTestSupport"]
        ),
        .testTarget(
            name: "SluiceLimitTests",
            dependencies: ["SluiceLimit", "SluiceRedis", "SluiceNet", "SluiceTestSupport"]
        ),
        .executableTarget(
            name: "LimiterBenchmark",
            dependencies: ["SluiceLimit"],
            path: "Benchmarks/LimiterBenchmark"
        ),
        .executableTarget(
            name: "LatencyProbe",
            dependencies: ["CSluiceLinux", "SluiceNet"],
            path: "Benchmarks/LatencyProbe"
        ),
        .executableTarget(
            name: "RedisPipelineBenchmark",
            dependencies: ["SluiceRedis"],
            path: "Benchmarks/RedisPipelineBenchmark"
        ),
    ],
    swiftLanguageModes: [.v6]
)
