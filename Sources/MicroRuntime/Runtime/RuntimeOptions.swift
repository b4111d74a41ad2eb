import Foundation

/// How a ``ProcessRuntime`` runs services: where its files are, how it restarts, stops, waits and logs.
public struct RuntimeOptions: Sendable {
    /// `$MICRO_HOME`: the runtime keeps sources (`runtime/src`), binaries (`runtime/bin`), working
    /// directories (`runtime/run`) and logs (`runtime/logs`) under it.
    public var home: String
    /// The runtime's own environment: its `MICRO_*` variables (but `MICRO_SERVER_ADDRESS` and the runtime's
    /// own `MICRO_RUNTIME_*`) are passed to every service, with `PATH`, `HOME` and the locale; git and swift run with all of it.
    public var environment: [String: String]
    /// Restarts after crashes.
    public var restartPolicy: RestartPolicy
    /// How long a stopped service has between SIGTERM and SIGKILL.
    public var stopGrace: Duration
    /// How long a dependency (or an updated instance) has to become healthy once its process runs.
    public var healthTimeout: Duration
    /// The size past which a service's log file is rotated.
    public var logMaxBytes: UInt64
    /// Rotated log files kept per service.
    public var logFilesKept: Int
    /// Arguments added to every `swift build`.
    public var buildArguments: [String]
    /// Where the Kubernetes runtime pushes images (default: the environment's ``ImageRegistry/addressVariable``
    /// and its companions; nil: none, and `runtime: kubernetes` is refused).
    public var imageRegistry: ImageRegistry?

    /// Options with the defaults: 5 s grace, 60 s to become healthy, 10 MiB logs with 3 kept.
    public init(home: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                restartPolicy: RestartPolicy = RestartPolicy(), stopGrace: Duration = .seconds(5), healthTimeout: Duration = .seconds(60),
                logMaxBytes: UInt64 = 10 << 20, logFilesKept: Int = 3, buildArguments: [String] = [], imageRegistry: ImageRegistry? = nil) {
        self.home = home
        self.environment = environment
        self.restartPolicy = restartPolicy
        self.stopGrace = stopGrace
        self.healthTimeout = healthTimeout
        self.logMaxBytes = logMaxBytes
        self.logFilesKept = logFilesKept
        self.buildArguments = buildArguments
        self.imageRegistry = imageRegistry
    }

    var root: String { home + "/runtime" }

    /// What a service's process gets: the pass-through part of ``environment`` and its manifest's `env`.
    func serviceEnvironment(_ manifestEnvironment: [String: String]) -> [String: String] {
        let passed: Set<String> = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TZ"]
        var env = environment.filter {
            passed.contains($0.key) || ($0.key.hasPrefix("MICRO_") && $0.key != "MICRO_SERVER_ADDRESS" && !$0.key.hasPrefix("MICRO_RUNTIME_"))
        }
        env["MICRO_HOME"] = home
        env.merge(manifestEnvironment) { $1 }
        return env
    }

    /// What a service's pods get (the Kubernetes runtime): the runtime's `MICRO_*` variables but those of
    /// this machine (`MICRO_SERVER_ADDRESS`, `MICRO_HOME`) and the runtime's own settings (`MICRO_RUNTIME_*`,
    /// a token among them), and its manifest's `env`.
    func clusterEnvironment(_ manifestEnvironment: [String: String]) -> [String: String] {
        var env = environment.filter {
            $0.key.hasPrefix("MICRO_") && !["MICRO_SERVER_ADDRESS", "MICRO_HOME"].contains($0.key) && !$0.key.hasPrefix("MICRO_RUNTIME_")
        }
        env.merge(manifestEnvironment) { $1 }
        return env
    }
}
