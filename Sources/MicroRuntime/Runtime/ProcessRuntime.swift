import Foundation
import Logging
import MicroCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// The Linux process runtime: runs services from sources (git, a package directory, a prebuilt binary)
/// as supervised processes (or podman containers), their dependencies (``RuntimeManifest``) started
/// first and waited for until healthy; keeps what it runs in a ``Store``, so a restarted runtime adopts
/// the processes still alive (same pid and start time) and restarts the others. With a
/// ``ClusterRuntime`` and an ``ImageRegistry``, it also runs services in a cluster (``RuntimeKind/kubernetes``):
/// built and packaged as for a container, pushed, rolled out and waited for; the cluster runs them.
///
/// It is a lifecycle `Service`: ``run()`` owns every task (builds, supervisors, health waits) in one
/// task group; on shutdown they end, and the service processes are left running for the next runtime
/// to adopt (``delete(_:)`` stops one: SIGTERM, then SIGKILL after ``RuntimeOptions/stopGrace``).
public actor ProcessRuntime: ServiceLifecycle.Service {
    /// The store scope the records live in (database `micro`, table `runtime`).
    public static let storeScope = StoreScope(checked: "micro", "runtime")
    private static let keyPrefix = "service/"

    typealias Job = @Sendable () async -> Void

    /// How services are run.
    public nonisolated let options: RuntimeOptions
    private let store: any Store
    private let health: any ServiceHealthCheck
    let logger: Logger
    let fetcher: SourceFetcher
    private let builder: PackageBuilder
    let containers: ContainerRuntime
    /// The cluster `kubernetes` services run in, nil when none is set up.
    public nonisolated let cluster: (any ClusterRuntime)?
    var services: [String: RuntimeServiceStatus] = [:]
    private var loaded = false
    private nonisolated let jobs: AsyncStream<Job>
    private nonisolated let jobQueue: AsyncStream<Job>.Continuation

    /// A runtime keeping its records in `store` (any scope of it: ``storeScope`` is used), checking
    /// health with `health`, and running `kubernetes` services in `cluster` (none without it).
    public init(options: RuntimeOptions, store: any Store, health: any ServiceHealthCheck, cluster: (any ClusterRuntime)? = nil,
                logger: Logger = Logger(label: "micro.runtime")) {
        self.options = options
        self.cluster = cluster
        self.store = store.scoped(Self.storeScope)
        self.health = health
        self.logger = logger
        fetcher = SourceFetcher(cache: options.root + "/src", environment: options.environment)
        builder = PackageBuilder(environment: options.environment, extraArguments: options.buildArguments)
        containers = ContainerRuntime(storage: options.root + "/containers", environment: options.environment)
        (jobs, jobQueue) = AsyncStream.makeStream()
    }

    /// Loads the records, adopts or restarts what they say runs, and runs every task until shutdown
    /// (graceful: the services keep running) or cancellation.
    public func run() async throws {
        try await load()
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in jobs { group.addTask { await job() } }
            } onGracefulShutdown: { [jobQueue] in
                jobQueue.finish()
            }
            jobQueue.finish()
            group.cancelAll()
        }
    }

    // MARK: The runtime's operations (go-micro's Create, Read, Update, Delete, Logs)

    /// Fetches `source`, resolves its dependencies and starts them all in order (in the background:
    /// ``list(_:)`` shows how far they got). Returns the services' names, dependencies first. Each runs
    /// as `kind` says, else as its manifest's `runtime` says, else as a process. Throws a
    /// ``RuntimeError`` for a bad source, a fetch failure, a bad manifest, a cycle, or when the service
    /// already runs.
    @discardableResult
    public func create(_ source: RuntimeSource, name: String? = nil, kind: RuntimeKind? = nil) async throws -> [String] {
        try await waitLoaded()
        let plan = try await ServicePlan.resolve(source, name: name, fetcher: fetcher)
        for entry in plan.entries.values where (kind ?? entry.manifest.runtime) == .kubernetes {
            try checkClusterConfigured(for: entry.name)
        }
        if let existing = services[plan.root], existing.state.status != .failed, existing.state.status != .stopped {
            throw RuntimeError(.alreadyExists, "\(plan.root) already runs (from \(existing.source)); `micro update \(plan.root)` replaces it")
        }
        var new: [String] = []
        for name in plan.waves.joined() {
            guard let entry = plan.entries[name] else { continue }
            if name != plan.root, let existing = services[name], existing.state.status != .failed, existing.state.status != .stopped { continue }
            var record = RuntimeServiceStatus(name: name, source: entry.source, kind: kind ?? entry.manifest.runtime ?? .process)
            record.dependencies = entry.dependencies
            record.generation = (services[name]?.generation ?? 0) + 1
            services[name] = record
            new.append(name)
            await save(name)
        }
        let names = Array(plan.waves.joined())
        try enqueue { [self, new] in
            await withDiscardingTaskGroup { group in
                for name in new {
                    guard let entry = plan.entries[name] else { continue }
                    group.addTask { await self.bringUp(entry) }
                }
            }
        }
        return names
    }

    /// The services, or the one named; sorted by name.
    public func list(_ name: String? = nil) async throws -> [RuntimeServiceStatus] {
        try await waitLoaded()
        await refreshClusterStatus(name)
        if let name {
            guard let record = services[name] else { throw RuntimeError(.notFound, "no service \(name) in the runtime") }
            return [record]
        }
        return services.values.sorted { $0.name < $1.name }
    }

    /// Pulls and rebuilds `name`'s source, starts the new instance, waits until it is healthy and
    /// then stops the old one, so callers always find a healthy node. Throws when the service is not
    /// known, the fetch or build fails, or the new instance is not healthy in time (it is stopped and
    /// the old one keeps running).
    public func update(_ name: String) async throws {
        try await waitLoaded()
        guard let current = services[name] else { throw RuntimeError(.notFound, "no service \(name) in the runtime") }
        if current.kind == .kubernetes { return try await updateInCluster(current) }
        let source = try RuntimeSource(parsing: current.source)
        let old = (pid: current.state.pid, startTime: current.state.pidStartTime, container: current.runningContainer, image: current.image)
        let checkout = try await fetcher.fetch(source)
        var manifest = RuntimeManifest()
        if case .binary = source.kind {} else { manifest = try RuntimeManifest.load(from: checkout.path) }
        let generation = current.generation + 1
        let prepared = try await prepare(name: name, source: source, checkout: checkout, manifest: manifest, kind: current.kind,
                                         generation: generation)
        let before = await health.healthyNodes(of: name)
        guard var record = services[name] else { throw RuntimeError(.notFound, "\(name) was removed during its update") }
        record.generation = generation
        record.apply(prepared)
        record.state.preparing(.waiting)
        record.state.crashesInARow = 0
        services[name] = record
        await save(name)
        logFile(name).note("update: starting generation \(generation) (\(prepared.commit ?? source.description))")
        try enqueue { [self] in await self.supervise(name, generation: generation, adopted: false) }
        do {
            try await waitHealthy(name, generation: generation, excluding: before)
        } catch {
            // The new instance is not healthy: stop it; the old one goes on.
            if let record = services[name], record.generation == generation, let pid = record.state.pid {
                await terminate(pid: pid, startTime: record.state.pidStartTime, container: record.runningContainer)
            }
            await restore(name, generation: generation, to: current)
            throw error
        }
        if let pid = old.pid { await terminate(pid: pid, startTime: old.startTime, container: old.container) }
        if let container = old.container { await containers.remove(container) }   // `--rm` removes it too, but not at once
        if let image = old.image, image != prepared.image { await containers.removeImage(image) }
        logFile(name).note("update: generation \(generation) healthy; the previous instance stopped")
    }

    /// Stops `name` (SIGTERM, SIGKILL after the grace period) and forgets it.
    public func delete(_ name: String) async throws {
        try await waitLoaded()
        guard var record = services[name] else { throw RuntimeError(.notFound, "no service \(name) in the runtime") }
        if record.kind == .kubernetes {
            // Its objects go first: when the API server refuses, the record stays for another `micro kill`.
            let cluster = try requireCluster(for: name)
            try await cluster.remove(name)
            logFile(name).note("kill: deleted its objects from \(cluster.description)")
        }
        record.state.stopping()
        services[name] = record
        await save(name)
        if let pid = record.state.pid { await terminate(pid: pid, startTime: record.state.pidStartTime, container: record.runningContainer) }
        if record.kind == .container {
            await containers.remove(ContainerRuntime.containerName(name, generation: record.generation))
            if let image = record.image { await containers.removeImage(image) }
        }
        services[name] = nil
        do { _ = try await store.delete(Self.keyPrefix + name, ifRevision: nil) } catch {
            logger.warning("cannot delete the record of \(name): \(error)")
        }
        logFile(name).note("stopped and removed")
    }

    /// `name`'s log file (its output and the runtime's notes: builds, restarts).
    public func logPath(_ name: String) async throws -> String {
        try await waitLoaded()
        guard services[name] != nil else { throw RuntimeError(.notFound, "no service \(name) in the runtime") }
        return logFile(name).path
    }

    nonisolated func logFile(_ name: String) -> LogFile {
        LogFile(path: options.root + "/logs/\(name).log", maxBytes: options.logMaxBytes, keep: options.logFilesKept)
    }

    // MARK: Bringing a service up

    /// Prepares one service of a plan, waits for its dependencies to be healthy, and starts it.
    private func bringUp(_ entry: ServicePlan.Entry) async {
        let name = entry.name
        guard let generation = services[name]?.generation else { return }
        do {
            let kind = services[name]?.kind ?? .process
            let prepared = try await prepare(name: name, source: entry.source, checkout: entry.checkout, manifest: entry.manifest, kind: kind,
                                             generation: generation)
            guard var record = services[name], record.generation == generation else { return }
            record.apply(prepared)
            record.state.preparing(.waiting)
            services[name] = record
            await save(name)
            for dependency in entry.dependencies { try await waitHealthy(dependency, generation: nil, excluding: []) }
            if kind == .kubernetes {
                try await rollOut(name, generation: generation, manifest: entry.manifest)
                return
            }
            try enqueue { [self] in await self.supervise(name, generation: generation, adopted: false) }
        } catch {
            await fail(name, generation: generation, error)
        }
    }

    /// What to run for a service: a prebuilt executable as it is, or its package built and packaged;
    /// for the container runtime, that executable (built with `--static-swift-stdlib`) in an OCI image.
    func prepare(name: String, source: RuntimeSource, checkout: SourceFetcher.Checkout, manifest: RuntimeManifest,
                         kind: RuntimeKind, generation: Int) async throws -> PreparedService {
        var prepared = PreparedService(executable: checkout.path, product: nil, commit: checkout.commit, manifest: manifest,
                                       directory: options.root + "/run/\(name)")
        try FileManager.default.createDirectory(atPath: prepared.directory, withIntermediateDirectories: true)
        let log = logFile(name)
        if case .binary = source.kind {
        } else if let binary = manifest.binary {
            let path = binary.hasPrefix("/") ? binary : checkout.path + "/" + binary
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw RuntimeError(.missingProduct, "\(name)'s \(RuntimeManifest.fileName) names binary \(path), which is not an executable file")
            }
            prepared.executable = path
        } else {
            setStatus(name, generation: generation, .building)
            var builder = self.builder
            if kind.usesImage { builder.extraArguments.append("--static-swift-stdlib") }
            let destination = options.root + "/bin/\(name)/\(generation)-"
            let product = try await fetcher.holding(checkout, of: source) { [builder] package in
                log.note("build: \(source)\(checkout.commit.map { " at \($0)" } ?? "")")
                let executables = try await builder.executables(in: package, log: log.path)
                let product = try PackageBuilder.choose(manifest.product, among: executables, package: source.description)
                log.note("build: swift build -c release --product \(product) \(builder.extraArguments.joined(separator: " "))")
                let built = try await builder.build(product, in: package, log: log.path)
                try PackageBuilder.package(built, to: destination + product)
                return product
            }
            log.note("build: \(product) packaged as \(destination + product)")
            prepared.executable = destination + product
            prepared.product = product
        }
        if kind.usesImage {
            setStatus(name, generation: generation, .building)
            let image = ContainerRuntime.imageName(name, generation: generation)
            log.note("image: \(image) from scratch with \(prepared.executable) and the libraries it loads")
            try await ImagePackager(containers: containers).package(prepared.executable, as: image,
                                                                     workDirectory: options.root + "/images/\(name)-\(generation)", log: log.path)
            prepared.image = image
            if kind == .kubernetes {
                setStatus(name, generation: generation, .pushing)
                prepared.image = try await push(image, name: name, generation: generation, prepared: prepared)
            }
        }
        return prepared
    }

    /// Waits until `name` is healthy: a node (not in `excluding`) registered and answering
    /// `Debug.Health`, within ``RuntimeOptions/healthTimeout`` once its process runs. Fails at once
    /// when the service fails or stops. `generation` nil waits for whichever generation runs.
    private func waitHealthy(_ name: String, generation: Int?, excluding: Set<String>) async throws {
        var deadline: ContinuousClock.Instant?
        while true {
            try Task.checkCancellation()
            guard let record = services[name] else { throw RuntimeError(.unhealthy, "dependency \(name) was removed") }
            if let generation, record.generation != generation { throw RuntimeError(.unhealthy, "\(name) was replaced while starting") }
            switch record.state.status {
            case .failed: throw RuntimeError(.unhealthy, "dependency \(name) failed: \(record.state.error ?? "")")
            case .stopping, .stopped: throw RuntimeError(.unhealthy, "dependency \(name) was stopped")
            case .running:
                if generation == nil, record.state.healthyAt != nil { return }
                if record.kind == .kubernetes { return }   // running means rolled out
                if deadline == nil { deadline = .now + options.healthTimeout }
                if !(await health.healthyNodes(of: name)).subtracting(excluding).isEmpty {
                    if var healthy = services[name], healthy.state.status == .running {
                        healthy.state.healthy()
                        services[name] = healthy
                        await save(name)
                    }
                    return
                }
            default: break
            }
            if let deadline, ContinuousClock.now >= deadline {
                throw RuntimeError(.unhealthy, "\(name) did not register and answer Debug.Health within \(options.healthTimeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    // MARK: Supervision

    /// Runs generation `generation` of `name` until it is stopped, replaced or fails: starts it (or,
    /// `adopted`, watches the process the record names), restarts it after crashes with backoff.
    /// Cancellation (the runtime's shutdown) leaves the process running.
    private func supervise(_ name: String, generation: Int, adopted: Bool) async {
        var adopting = adopted
        while !Task.isCancelled {
            let pid: Int32
            let startTime: UInt64?
            if adopting, let record = services[name], let recordedPid = record.state.pid {
                adopting = false
                (pid, startTime) = (recordedPid, record.state.pidStartTime)
            } else {
                let spec: LaunchSpec
                do {
                    guard let next = try launchSpec(name, generation: generation) else { return }
                    spec = next
                    if let container = spec.container {
                        // A `podman run` killed without its container leaves it (and its name) behind.
                        await containers.remove(container.name)
                        try? FileManager.default.removeItem(atPath: container.idFile)
                    }
                    pid = try ProcessLauncher.spawn(spec.executable, spec.arguments, environment: spec.environment, directory: spec.directory,
                                                    output: spec.log, newSession: true)
                } catch {
                    await fail(name, generation: generation, error)
                    return
                }
                startTime = ProcessIdentity.startTime(of: pid)
                guard var record = services[name], record.generation == generation else { return }
                record.state.started(pid: pid, startTime: startTime)
                services[name] = record
                await save(name)
                if let container = spec.container, let id = await ContainerRuntime.containerID(in: container.idFile),
                   var identified = services[name], identified.generation == generation, identified.state.pid == pid {
                    identified.state.identified(container: id)
                    services[name] = identified
                    await save(name)
                    logFile(name).note("container \(container.name) is \(id)")
                }
            }
            guard let exit = await Self.waitForExit(pid: pid, startTime: startTime, log: logFile(name)) else { return }
            guard var record = services[name], record.generation == generation else { return }   // replaced or removed
            let decision = record.state.exited(exit, policy: options.restartPolicy)
            services[name] = record
            await save(name)
            switch decision {
            case .stop:
                logFile(name).note("\(exit); " + (record.state.status == .failed ? "not restarted: \(record.state.error ?? "")" : "stopped"))
                return
            case .restart(let wait):
                logFile(name).note("\(exit); restart \(record.state.restarts) in \(wait)")
                do { try await Task.sleep(for: wait) } catch { return }
            }
        }
    }

    /// Waits for the process to end (reaping it when it is a child; watching its start time when it
    /// was adopted) and rotates its log meanwhile; nil when cancelled first.
    private static func waitForExit(pid: Int32, startTime: UInt64?, log: LogFile) async -> ProcessExit? {
        var polls = 0
        while !Task.isCancelled {
            if let exit = ProcessLauncher.reap(pid) {
                if exit != .unknown { return exit }
                guard let startTime, ProcessIdentity.isAlive(pid, startTime: startTime) else { return .unknown }
            }
            polls += 1
            if polls % 20 == 0 { log.rotateIfNeeded() }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// What to start for `name`'s generation, nil when it should not run (stopped, failed, replaced, removed):
    /// its executable, or `podman run` of its image.
    private func launchSpec(_ name: String, generation: Int) throws -> LaunchSpec? {
        guard let record = services[name], record.generation == generation, let executable = record.executable else { return nil }
        switch record.state.status {
        case .stopping, .stopped, .failed: return nil
        default: break
        }
        let directory = options.root + "/run/\(name)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = logFile(name)
        let environment = options.serviceEnvironment(record.environment)
        guard record.kind == .container else {
            log.note("start: \(executable) \(record.arguments.joined(separator: " "))")
            return LaunchSpec(executable: executable, arguments: record.arguments, environment: environment, directory: directory, log: log.path)
        }
        guard let image = record.image else { throw RuntimeError(.startFailed, "\(name) has no image; `micro update \(name)` builds it again") }
        let container = LaunchSpec.Container(name: ContainerRuntime.containerName(name, generation: generation), idFile: directory + "/container.id")
        let mounts = [options.home] + [options.environment["MICRO_REGISTRY_ADDRESS"]].compactMap { $0 }.filter { $0.hasPrefix("/") }
        let (podman, arguments) = try containers.runCommand(container: container.name, image: image, arguments: record.arguments,
                                                            environment: environment, mounts: mounts, idFile: container.idFile)
        log.note("start: container \(container.name) of \(image) \(record.arguments.joined(separator: " "))")
        return LaunchSpec(executable: podman, arguments: arguments, environment: environment, directory: directory, log: log.path,
                          container: container)
    }

    /// Ends a service: its container stopped (`podman stop -t GRACE`), then its process: SIGTERM,
    /// SIGKILL after the grace period; waits (bounded) until it is gone.
    private func terminate(pid: Int32, startTime: UInt64?, container: String?) async {
        if let container { await containers.stop(container, grace: options.stopGrace) }
        guard ProcessLauncher.signal(pid, SIGTERM, startTime: startTime) else { return }
        let deadline = ContinuousClock.now + options.stopGrace
        while ProcessIdentity.startTime(of: pid) != nil, startTime == nil || ProcessIdentity.startTime(of: pid) == startTime {
            if ContinuousClock.now >= deadline {
                ProcessLauncher.signal(pid, SIGKILL, startTime: startTime)
                let killDeadline = ContinuousClock.now + .seconds(5)
                while ProcessIdentity.startTime(of: pid) == startTime, ContinuousClock.now < killDeadline {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: State

    /// Puts `name`'s record back as `previous` was (its generation, what it ran, its state) when the
    /// record is still at `generation` (an update that failed); whether it was.
    @discardableResult
    func restore(_ name: String, generation: Int, to previous: RuntimeServiceStatus) async -> Bool {
        guard var restored = services[name], restored.generation == generation else { return false }
        restored.generation = previous.generation
        restored.executable = previous.executable
        restored.product = previous.product
        restored.commit = previous.commit
        restored.version = previous.version
        restored.arguments = previous.arguments
        restored.environment = previous.environment
        restored.image = previous.image
        restored.cluster = previous.cluster
        restored.state = previous.state
        services[name] = restored
        await save(name)
        return true
    }

    func setStatus(_ name: String, generation: Int, _ status: SupervisionState.Status) {
        guard var record = services[name], record.generation == generation else { return }
        record.state.preparing(status)
        services[name] = record
    }

    func fail(_ name: String, generation: Int, _ error: any Error) async {
        guard var record = services[name], record.generation == generation else { return }
        record.state.fail(error)
        services[name] = record
        logFile(name).note("failed: \(record.state.error ?? "")")
        logger.warning("\(name) failed: \(record.state.error ?? "")")
        await save(name)
    }

    /// Writes `name`'s record. The write is shielded from cancellation (an awaited task of its own): a
    /// runtime shutting down just after a restart must still record the new pid, or the next runtime
    /// would start a second process beside the one it should adopt.
    func save(_ name: String) async {
        guard let record = services[name] else { return }
        let (store, logger, key) = (self.store, self.logger, Self.keyPrefix + name)
        await Task {
            do { try await store.write(key, value: record) } catch {
                logger.warning("cannot save the record of \(name): \(error)")
            }
        }.value
    }

    nonisolated func enqueue(_ job: @escaping Job) throws {
        if case .terminated = jobQueue.yield(job) { throw RuntimeError(.unavailable, "the runtime is shut down") }
    }

    private func waitLoaded() async throws {
        while !loaded {
            try Task.checkCancellation()
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Reads the records; adopts each process still alive, restarts those that ran and are gone, and
    /// marks interrupted builds failed.
    private func load() async throws {
        let entries = try await store.entries(StoreQuery(prefix: Self.keyPrefix), as: RuntimeServiceStatus.self)
        for entry in entries {
            var record = entry.value
            let name = record.name
            let generation = record.generation
            if record.kind == .kubernetes {
                try adoptFromCluster(record)
                await save(name)
                continue
            }
            switch record.state.status {
            case .running, .backoff:
                if let pid = record.state.pid, let startTime = record.state.pidStartTime, ProcessIdentity.isAlive(pid, startTime: startTime) {
                    services[name] = record
                    logFile(name).note("adopted pid \(pid) after a runtime restart")
                    try enqueue { [self] in await self.supervise(name, generation: generation, adopted: true) }
                } else if record.executable.map({ FileManager.default.isExecutableFile(atPath: $0) }) == true {
                    record.state.preparing(.waiting)
                    services[name] = record
                    logFile(name).note("restarting after a runtime restart (its process is gone)")
                    try enqueue { [self] in await self.supervise(name, generation: generation, adopted: false) }
                } else {
                    record.state.fail(RuntimeError(.startFailed, "its executable is gone; `micro update \(name)` builds it again"))
                    services[name] = record
                }
            case .fetching, .building, .waiting, .pushing, .deploying:
                record.state.fail(RuntimeError(.startFailed, "interrupted by a runtime restart; `micro update \(name)` builds it again"))
                services[name] = record
            case .stopping:
                record.state.stopped()
                services[name] = record
            case .stopped, .failed:
                services[name] = record
            }
            await save(name)
        }
        loaded = true
    }
}

/// What a prepared service runs.
struct PreparedService: Sendable {
    var executable: String
    var product: String?
    var commit: String?
    var manifest: RuntimeManifest
    var directory: String
    var image: String?

    /// The version it is shown and tagged with: the manifest's, else the commit's first 12 characters, else `latest`.
    var version: String { manifest.version ?? commit.map { String($0.prefix(12)) } ?? "latest" }
}

/// What a supervisor starts.
struct LaunchSpec: Sendable {
    /// A container the process (`podman run`) runs.
    struct Container: Sendable {
        var name: String
        var idFile: String
    }

    var executable: String
    var arguments: [String]
    var environment: [String: String]
    var directory: String
    var log: String
    var container: Container?
}

extension RuntimeServiceStatus {
    /// The container of the running generation (its id, or its name before the id is known); nil for a process.
    var runningContainer: String? {
        state.container ?? (kind == .container ? ContainerRuntime.containerName(name, generation: generation) : nil)
    }

    /// Takes the prepared executable and the manifest's settings.
    mutating func apply(_ prepared: PreparedService) {
        executable = prepared.executable
        product = prepared.product
        commit = prepared.commit
        arguments = prepared.manifest.args ?? []
        environment = prepared.manifest.env ?? [:]
        version = prepared.version
        image = prepared.image
    }
}
