// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "routing-candidates-trainer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trainer", targets: ["trainer"]),
        .library(name: "HNSW", targets: ["HNSW"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // Distance kernels with runtime CPU dispatch (AVX-512 / AVX2+FMA / scalar).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // The index: depends on nothing but the standard library and the kernels.
        .target(name: "HNSW", dependencies: ["CKernels"]),
        // Debian's compression libraries for the Parquet codecs.
        .systemLibrary(name: "CCompression", path: "Sources/CCompression"),
        // Debian's libnng (the cluster transport).
        .systemLibrary(name: "CNNG", path: "Sources/CNNG"),
        // glibc's allocator controls (docs/decisions.md, "Memory at ten million items").
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // The commit the binary was built from (the Makefile defines it).
        .target(name: "CBuildInfo"),
        .target(name: "Shared", dependencies: [
            "HNSW", "CCompression", "CNNG", "CBuildInfo", "CMalloc", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Coordinator", dependencies: ["Shared", "HNSW", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]),
        .target(name: "Worker", dependencies: ["Shared", "HNSW", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "trainer",
            dependencies: [
                "HNSW", "Shared", "Coordinator", "Worker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "HNSWTests", dependencies: ["HNSW"]),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator"]),
        .testTarget(name: "SharedTests", dependencies: ["Shared", "HNSW", "CCompression"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
