import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus server started for one test, on a free loopback port, scraping the targets the
/// test names every `interval`, killed by its pid.
///
/// The binary is `$MICRO_PROMETHEUS`, else `/usr/bin/prometheus` (Debian's `prometheus`). When it is
/// missing the test fails with ``EngineMissing``: it never passes without its engine.
public final class PrometheusProcess: @unchecked Sendable {
    // Safety: the process is touched only by the test that owns this value.

    /// The web and API port (127.0.0.1).
    public let port: Int
    /// Its configuration, data and log.
    public let directory: URL
    private var process: SpawnedProcess?

    /// The prometheus binary, or a thrown error naming what is missing.
    public static func binary() throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["MICRO_PROMETHEUS"], !env.isEmpty { candidates.append(env) }
        candidates += ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw EngineMissing(description: "prometheus not found (set MICRO_PROMETHEUS or run ./scripts/test, which installs Debian's prometheus)")
    }

    /// Starts a server scraping `targets` (`127.0.0.1:PORT`, path `/metrics`) every `interval` and waits until it is ready.
    public init(targets: [String], interval: Duration = .seconds(1)) async throws {
        let binary = try Self.binary()
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("prometheus-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let seconds = max(1, Int(interval.components.seconds))
        let config = """
            global:
              scrape_interval: \(seconds)s
              scrape_timeout: \(seconds)s
            scrape_configs:
              - job_name: micro
                metrics_path: /metrics
                static_configs:
                  - targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]
            """
        let configURL = directory.appendingPathComponent("prometheus.yml")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let p = try SpawnedProcess(binary, [
            "--config.file=\(configURL.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ], output: directory.appendingPathComponent("prometheus.log"))
        process = p
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if !p.isRunning { break }
            if canConnect(port: port), (try? httpGet(port: port, path: "/-/ready")) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = self.log
        stop()
        throw EngineMissing(description: "prometheus did not become ready on port \(port): \(log.suffix(800))")
    }

    /// The answer of the HTTP API's instant query for `promQL` (`/api/v1/query`), as JSON text.
    public func query(_ promQL: String) throws -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = promQL.addingPercentEncoding(withAllowedCharacters: allowed) ?? promQL
        return try httpGet(port: port, path: "/api/v1/query?query=\(encoded)")
    }

    /// Its log so far (for failure messages).
    public var log: String { (try? String(contentsOf: directory.appendingPathComponent("prometheus.log"), encoding: .utf8)) ?? "" }

    /// Stops the server (SIGTERM, then SIGKILL after 3 s) and reaps it.
    public func stop() {
        process?.terminate(grace: .seconds(3))
        process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
