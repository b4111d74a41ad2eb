import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A network namespace made for one test, with only `lo`, up and multicast-capable and routing
/// 224.0.0.0/4 — the only place mDNS and other multicast may run (INFRA.md: in the machine's own
/// namespace 224.0.0.251 leaves through eth0). Needs root and `ip` (iproute2); a missing piece is an
/// ``EngineMissing`` error, so such tests fail rather than pass silently.
///
/// Delete it with ``delete()`` (deinit does too).
public final class NetworkNamespace: @unchecked Sendable {
    // Safety: `deleted` is touched only by the test that owns this value.

    /// The namespace's name (`/var/run/netns/NAME`).
    public let name: String
    private var deleted = false

    /// The `ip` binary, or a thrown error.
    public static func ipBinary() throws -> String {
        for c in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw EngineMissing(description: "ip (iproute2) not found (run ./scripts/test, which installs iproute2)")
    }

    /// Makes a namespace named `micro-<prefix>-<random>` with `lo` set up for multicast.
    public init(prefix: String = "mdns") throws {
        guard geteuid() == 0 else { throw EngineMissing(description: "network namespaces need root") }
        let ip = try Self.ipBinary()
        name = "micro-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try ChildProcess.run(ip, ["netns", "add", name])
        do {
            try ChildProcess.run(ip, ["-n", name, "link", "set", "lo", "up"])
            try ChildProcess.run(ip, ["-n", name, "link", "set", "lo", "multicast", "on"])
            try ChildProcess.run(ip, ["-n", name, "route", "add", "224.0.0.0/4", "dev", "lo"])
        } catch {
            _ = try? ChildProcess.run(ip, ["netns", "del", name])
            deleted = true
            throw error
        }
    }

    /// Makes a namespace (see ``init(prefix:)``) and returns it.
    public static func create(prefix: String = "mdns") throws -> NetworkNamespace { try NetworkNamespace(prefix: prefix) }

    /// Deletes the namespace (idempotent).
    public func delete() {
        guard !deleted else { return }
        deleted = true
        if let ip = try? Self.ipBinary() { _ = try? ChildProcess.run(ip, ["netns", "del", name]) }
    }

    /// The arguments that run `command` inside the namespace (`ip netns exec NAME command...`).
    public func execArguments(_ command: [String]) throws -> (executable: String, arguments: [String]) {
        (try Self.ipBinary(), ["netns", "exec", name] + command)
    }

    /// Runs `command` inside the namespace and returns its standard output; throws when it fails or
    /// runs past `timeout` (then it is killed).
    @discardableResult
    public func run(_ command: [String], timeout: Duration = .seconds(20)) throws -> String {
        let (exe, args) = try execArguments(command)
        return try ChildProcess.run(exe, args, timeout: timeout)
    }

    /// Starts `command` inside the namespace in the background (output and errors to `output`); the caller ends it.
    public func spawn(_ command: [String], environment: [String: String]? = nil, output: URL? = nil) throws -> SpawnedProcess {
        let (exe, args) = try execArguments(command)
        return try SpawnedProcess(exe, args, environment: environment, output: output)
    }

    deinit { delete() }
}
