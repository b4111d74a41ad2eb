import ArgumentParser
import Foundation
import MicroTestSupport

/// The Go peers in `Benchmarks/GoPeers` (net/http and grpc-go greeters, the nats.go bench), built
/// by its `build.sh` in GOPATH mode from Debian's Go packages, and the release greeter beside this
/// micro-bench: the programs `micro-bench peers` and `micro-bench memory` run, and their options.
struct GoPeers: ParsableArguments {
    @Option(help: "The greeter executable (default: `greeter` beside this micro-bench).")
    var greeter: String?
    @Option(help: "Where build.sh puts the Go peers (default: .build-go-peers at the package root).")
    var goPeers: String?

    /// The package root (this file is `Benchmarks/MicroBench/GoPeers.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Builds the peers into `--go-peers` (default `.build-go-peers` at the package root; Go's build cache
    /// makes a rebuild quick) and returns the directory of their binaries.
    func build() throws -> URL {
        print("building the Go peers (Benchmarks/GoPeers/build.sh) ...")
        _ = try ExternalTools.require(["go", "protoc", "protoc-gen-go"])
        let out = goPeers.map { URL(fileURLWithPath: $0) } ?? Self.packageRoot.appendingPathComponent(".build-go-peers")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let script = Self.packageRoot.appendingPathComponent("Benchmarks/GoPeers/build.sh")
        guard FileManager.default.isExecutableFile(atPath: script.path) else {
            throw BenchError("\(script.path) not found: micro-bench builds the Go peers from the package's sources")
        }
        let log = out.appendingPathComponent("build.log")
        let process = try SpawnedProcess("/bin/sh", [script.path, out.path], output: log)
        guard process.wait(timeout: .seconds(900)) else {
            process.kill()
            throw BenchError("building the Go peers took over 15 minutes; see \(log.path)")
        }
        guard process.exitCode == 0 else {
            throw BenchError("building the Go peers failed: \((try? String(contentsOf: log, encoding: .utf8)) ?? log.path)")
        }
        let bin = out.appendingPathComponent("bin")
        for peer in ["http-greeter", "grpc-greeter", "nats-bench"] where !FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent(peer).path) {
            throw BenchError("build.sh did not produce \(peer) in \(bin.path)")
        }
        return bin
    }

    /// The release greeter: `--greeter`, or `greeter` beside this executable.
    func greeterPath() throws -> String {
        if let path = greeter {
            guard FileManager.default.isExecutableFile(atPath: path) else { throw BenchError("--greeter \(path) is not an executable") }
            return path
        }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let beside = me.appendingPathComponent("greeter").path
        guard FileManager.default.isExecutableFile(atPath: beside) else {
            throw BenchError("no greeter beside micro-bench in \(me.path): build it in the same configuration " +
                             "(swift build -c release --product greeter, with the same --scratch-path), or pass --greeter PATH")
        }
        if !me.path.contains("release") { print("note: \(beside) is not in a release build directory; the peers' figures are for a release build") }
        return beside
    }
}
