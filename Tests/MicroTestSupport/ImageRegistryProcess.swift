import Foundation

/// A real OCI image registry (the Distribution registry, Debian's `docker-registry`) started for one
/// test on a free loopback port with a configuration file and storage of its own, stopped by its pid.
/// Read-only, it refuses every push (as a registry in maintenance does). Missing, it is an
/// ``EngineMissing`` error (scripts/test installs it).
public final class ImageRegistryProcess: @unchecked Sendable {
    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// `127.0.0.1:PORT`.
    public var address: String { "127.0.0.1:\(port)" }
    /// Its configuration, storage and log.
    public let directory: URL
    private var process: SpawnedProcess?

    /// The registry binary, or a thrown error naming what is missing.
    public static func binary() throws -> String {
        for candidate in ["/usr/bin/docker-registry", "/usr/local/bin/registry", "/usr/bin/registry"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw EngineMissing(description: "docker-registry (the Distribution registry) not found: apt-get install docker-registry, or run ./scripts/test")
    }

    /// Starts a registry (refusing pushes when `readOnly`) and waits until `GET /v2/` answers.
    public init(readOnly: Bool = false) async throws {
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = """
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(directory.path)/data
              delete:
                enabled: true
              maintenance:
                uploadpurging:
                  enabled: false
                readonly:
                  enabled: \(readOnly)
            http:
              addr: 127.0.0.1:\(port)
            """
        let configFile = directory.appendingPathComponent("config.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let started = try SpawnedProcess(try Self.binary(), ["serve", configFile.path], replacingEnvironment: ["PATH": "/usr/bin:/bin"],
                                         output: directory.appendingPathComponent("registry.log"))
        process = started
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline, started.isRunning {
            if (try? httpGet(port: port, path: "/v2/")) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = self.log
        stop()
        throw EngineMissing(description: "docker-registry did not answer on 127.0.0.1:\(port): \(log.suffix(500))")
    }

    /// Its log so far (for failure messages).
    public var log: String { (try? String(contentsOf: directory.appendingPathComponent("registry.log"), encoding: .utf8)) ?? "" }

    /// Stops it (SIGTERM, SIGKILL after 2 s) and reaps it.
    public func stop() {
        process?.terminate(grace: .seconds(2))
        process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
