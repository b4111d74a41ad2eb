import Foundation

/// The container runtime: a service's image run with podman (no daemon) on the host's network, its
/// environment passed in by name, `$MICRO_HOME` mounted at the same path (so the embedded registry and
/// store are shared with processes), stopped with `podman stop -t GRACE`. Images and containers live
/// in a storage of its own (vfs under `$MICRO_HOME/runtime/containers`), never the machine's.
///
/// The supervisor runs `podman run` (attached, `--rm`) as the service's process: the container's
/// output goes to the service's log file, its exit status is `podman run`'s, and a restarted runtime
/// adopts it as it adopts any process; the container's id is kept beside the pid.
public struct ContainerRuntime: Sendable {
    /// The storage directory (images, containers, podman's state).
    public var storage: String
    /// The environment podman and buildah run with (their `PATH`).
    public var environment: [String: String]

    /// A runtime keeping images and containers under `storage`.
    public init(storage: String, environment: [String: String]) {
        self.storage = storage
        self.environment = environment
    }

    /// The directory of podman's and buildah's transient state (locks, container state) for this
    /// storage: podman refuses a run root longer than 50 characters, so it is `/tmp/micro-podman-…`
    /// named by a hash of ``storage``.
    var runRoot: String { "/tmp/micro-podman-" + SourceFetcher.directoryName(for: storage).suffix(16) }

    /// The flags that point buildah and podman at this storage (vfs: no overlay mounts needed).
    var storageArguments: [String] {
        ["--root", storage + "/root", "--runroot", runRoot, "--storage-driver", "vfs"]
    }

    /// podman's global flags: this storage, no systemd (cgroupfs), no event log.
    var podmanArguments: [String] {
        storageArguments + ["--cgroup-manager", "cgroupfs", "--events-backend", "none", "--tmpdir", runRoot + "/libpod"]
    }

    /// The name of generation `generation` of `service`'s container.
    static func containerName(_ service: String, generation: Int) -> String { "micro-\(service)-\(generation)" }

    /// The tag of generation `generation` of `service`'s image.
    static func imageName(_ service: String, generation: Int) -> String { "localhost/micro-\(service.lowercased()):\(generation)" }

    /// `podman run` for `image` as `container`: attached (its output is the caller's), removed when it
    /// ends, on the host's network, with an init that forwards signals (a scratch image's PID 1 would
    /// ignore SIGTERM), the `environment` names passed from podman's own environment (no values on the
    /// command line), `mounts` bound at the same paths, and the id written to `idFile`.
    func runCommand(container: String, image: String, arguments: [String], environment: [String: String], mounts: [String],
                    idFile: String) throws -> (executable: String, arguments: [String]) {
        var run = ["run", "--rm", "--name", container, "--cidfile", idFile, "--network", "host", "--init", "--log-driver", "none",
                   "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
        for mount in mounts { run += ["--volume", "\(mount):\(mount)"] }
        for name in environment.keys.sorted() { run += ["--env", name] }
        return (try Command.locate("podman", environment: self.environment), podmanArguments + run + [image] + arguments)
    }

    /// `podman stop -t GRACE`: SIGTERM to the container, SIGKILL after `grace`; nothing when it is gone.
    func stop(_ container: String, grace: Duration) async {
        let seconds = max(0, grace.components.seconds)
        _ = try? await podman(["stop", "--ignore", "--time", String(seconds), container], timeout: grace + .seconds(30)).run()
    }

    /// Removes `container` (a leftover of a `podman run` killed without its container), running or not.
    func remove(_ container: String) async {
        _ = try? await podman(["rm", "--force", "--ignore", container], timeout: .seconds(60)).run()
    }

    /// Removes `image` when no container uses it.
    func removeImage(_ image: String) async {
        _ = try? await podman(["rmi", "--ignore", image], timeout: .seconds(60)).run()
    }

    /// The id podman wrote to `idFile`, waiting for it at most `timeout`; nil when none came.
    static func containerID(in idFile: String, timeout: Duration = .seconds(10)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: idFile), data.count <= 256 {
                let id = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if id.count == 64, id.allSatisfy(\.isHexDigit) { return id }
            }
            do { try await Task.sleep(for: .milliseconds(50)) } catch { return nil }
        }
        return nil
    }

    /// A podman command on this storage.
    func podman(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> Command {
        Command(executable: try Command.locate("podman", environment: environment), arguments: podmanArguments + arguments,
                environment: environment, directory: nil, timeout: timeout)
    }

    /// A buildah command on this storage.
    func buildah(_ arguments: [String], timeout: Duration = .seconds(300)) throws -> Command {
        Command(executable: try Command.locate("buildah", environment: environment), arguments: storageArguments + arguments,
                environment: environment, directory: nil, timeout: timeout)
    }
}
