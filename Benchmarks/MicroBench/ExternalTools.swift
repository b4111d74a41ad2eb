import Foundation

/// The programs the peer and memory benchmarks run beside ours, found on `PATH`, with the Debian
/// packages that provide each: a missing one fails the run with the `apt-get install` line.
enum ExternalTools {
    /// Each tool's Debian package(s).
    static let packages: [String: String] = [
        "go": "golang-go golang-google-grpc-dev golang-goprotobuf-dev golang-github-nats-io-go-nats-dev",
        "protoc": "protobuf-compiler",
        "protoc-gen-go": "golang-goprotobuf-dev",
        "wrk": "wrk",
        "h2load": "nghttp2-client",
        "taskset": "util-linux",
    ]

    /// The full path of `name` on `PATH`, or nil.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    /// The paths of `names` by name; throws naming every missing one and the packages to install.
    static func require(_ names: [String]) throws -> [String: String] {
        var found: [String: String] = [:]
        var missing: [String] = []
        for name in names {
            if let path = find(name) { found[name] = path } else { missing.append(name) }
        }
        guard missing.isEmpty else {
            let apt = Set(missing.compactMap { packages[$0] }.flatMap { $0.split(separator: " ").map(String.init) }).sorted()
            throw BenchError("not found on PATH: \(missing.joined(separator: ", ")); install them with: apt-get install \(apt.joined(separator: " "))")
        }
        return found
    }
}
