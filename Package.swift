// swift-tools-version:6.1
// sockettool: the socket guide's programs as one fast, safe Swift tool.
import PackageDescription

var package = Package(
    name: "sockettool",
    products: [
        .executable(name: "sockettool", targets: ["sockettool"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // The few Linux calls Swift cannot make directly: accept4, ioctl, epoll (packed struct), signal handler, malloc_trim.
        .target(name: "CSocketShim"),
        // Socket layer, reactor, framing, servers and clients. No ArgumentParser, no print().
        .target(name: "SocketCore", dependencies: ["CSocketShim"]),
        // The command line: parse, wire, print, exit codes.
        .executableTarget(
            name: "sockettool",
            dependencies: ["SocketCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Readers both test targets share, independent of sockettool's code (the flood plot's SVG).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SocketCoreTests", dependencies: ["SocketCore", "CSocketShim", "TestSupport"]),
        .testTarget(
            name: "sockettoolTests",
            dependencies: ["sockettool", "SocketCore", "CSocketShim", "TestSupport"],
            exclude: ["Snapshots"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// `make fuzz` sets SOCKETTOOL_FUZZ=1 to add the libFuzzer target; a normal build never links it,
// because a fuzzer has no main() of its own.
if Context.environment["SOCKETTOOL_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "FrameFuzzer",
            dependencies: ["SocketCore"],
            path: "Tests/Fuzz/FrameFuzzer",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    )
}
