import Foundation
import Logging
import MicroCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// The Linux process runtime: runs services from sources (git, a package directory, a prebuilt binary)
/// as supervised processes, their dependencies (``RuntimeManifest``) started first and waited for
/// until healthy; keeps what it runs in a ``Store``, so a restarted runtime adopts the processes still
/// alive (same pid and start time) and restarts the others.
///
/// It is a lifecycle `Service`: ``run()`` owns every task (builds, supervisors, health waits) in one
/// task group; on shutdown they end, and the service processes are left running for the next runtime
/// to adopt (``delete(_:)`` stops one: SIGTERM, then SIGKILL after ``RuntimeOptions/stopGrace``).
public actor ProcessRuntime: ServiceLifecycle.Service {
    /// The store scope the records live in (database `micro`, table `runtime`).
    public static let storeScope = StoreScope(checked: "micro", "runtime")
    private static let keyPrefix = "service/"

    private typealias Job = @Sendable () async -> Void

    /// How services are run.
    public nonisolated let options: RuntimeOptions
    private let store: any Store
    private let health: any ServiceHealthCheck
    private let logger: Logger
    private let fetcher: SourceFetcher
    private let builder: PackageBuilder
    private var services: [String: RuntimeServiceStatus] = [:]
    private var loaded = false
    private nonisolated let jobs: AsyncStream<Job>
    private nonisolated let jobQueue: AsyncStream<Job>.Continuation

    /// A runtime keeping its records in `store` (any scope of it: ``storeScope`` is used) and checking
    /// health with `health`.
    public init(options: RuntimeOptions, store: any Store, health: any ServiceHealthCheck, logger: Logger = Logger(label: "micro.runtime")) {
        self.options = options
        self.store = store.scoped(Self.storeScope)
        self.health = health
        self.logger = logger
        fetcher = SourceFetcher(cache: options.root + "/src", environment: options.environment)
        builder = PackageBuilder(environment: options.environment, extraArguments: options.buildArguments)
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
    /// ``list(_:)`` shows how far they got). Returns the services' names, dependencies first. Throws
    /// a ``RuntimeError`` for a bad source, a fetch failure, a bad manifest, a cycle, or when the
    /// service already runs.
    @discardableResult
    public func create(_ source: RuntimeSource, name: String? = nil) async throws -> [String] {
        try await waitLoaded()
        let plan = try await ServicePlan.resolve(source, name: name, fetcher: fetcher)
        if let existing = services[plan.root], existing.state.status != .failed, existing.state.status != .stopped {
            throw RuntimeError(.alreadyExists, "\(plan.root) already runs (from \(existing.source)); `micro update \(plan.root)` replaces it")
        }
        var new: [String] = []
        for name in plan.waves.joined() {
            guard let entry = plan.entries[name] else { continue }
            if name != plan.root, let existing = services[name], existing.state.status != .failed, existing.state.status != .stopped { continue }
            var record = RuntimeServiceStatus(name: name, source: entry.source)
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
        let source = try RuntimeSource(parsing: current.source)
        let old = (pid: current.state.pid, startTime: current.state.pidStartTime)
        let checkout = try await fetcher.fetch(source)
        var manifest = RuntimeManifest()
        if case .binary = source.kind {} else { manifest = try RuntimeManifest.load(from: checkout.path) }
        let generation = current.generation + 1
        let prepared = try await prepare(name: name, source: source, checkout: checkout, manifest: manifest, generation: generation)
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
            if let pid = services[name]?.state.pid, services[name]?.generation == generation {
                await terminate(pid: pid, startTime: services[name]?.state.pidStartTime)
            }
            if var restored = services[name], restored.generation == generation {
                restored.generation = current.generation
                restored.executable = current.executable
                restored.arguments = current.arguments
                restored.environment = current.environment
                restored.state = current.state
                services[name] = restored
                await save(name)
            }
            throw error
        }
        if let pid = old.pid { await terminate(pid: pid, startTime: old.startTime) }
        logFile(name).note("update: generation \(generation) healthy; the previous instance stopped")
    }

    /// Stops `name` (SIGTERM, SIGKILL after the grace period) and forgets it.
    public func delete(_ name: String) async throws {
        try await waitLoaded()
        guard var record = services[name] else { throw RuntimeError(.notFound, "no service \(name) in the runtime") }
        record.state.stopping()
        services[name] = record
        await save(name)
        if let pid = record.state.pid { await terminate(pid: pid, startTime: record.state.pidStartTime) }
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
            let prepared = try await prepare(name: name, source: entry.source, checkout: entry.checkout, manifest: entry.manifest, generation: generation)
            guard var record = services[name], record.generation == generation else { return }
            record.apply(prepared)
            record.state.preparing(.waiting)
            services[name] = record
            await save(name)
            for dependency in entry.dependencies { try await waitHealthy(dependency, generation: nil, excluding: []) }
            try enqueue { [self] in await self.supervise(name, generation: generation, adopted: false) }
        } catch {
            await fail(name, generation: generation, error)
        }
    }

    /// The executable to run for a service: a prebuilt one as it is, or its package built and packaged.
    private func prepare(name: String, source: RuntimeSource, checkout: SourceFetcher.Checkout, manifest: RuntimeManifest,
                         generation: Int) async throws -> PreparedService {
        var prepared = PreparedService(executable: checkout.path, product: nil, commit: checkout.commit, manifest: manifest,
                                       directory: options.root + "/run/\(name)")
        try FileManager.default.createDirectory(atPath: prepared.directory, withIntermediateDirectories: true)
        if case .binary = source.kind { return prepared }
        if let binary = manifest.binary {
            let path = binary.hasPrefix("/") ? binary : checkout.path + "/" + binary
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw RuntimeError(.missingProduct, "\(name)'s \(RuntimeManifest.fileName) names binary \(path), which is not an executable file")
            }
            prepared.executable = path
            return prepared
        }
        setStatus(name, generation: generation, .building)
        let log = logFile(name)
        log.note("build: \(source)\(checkout.commit.map { " at \($0)" } ?? "")")
        let executables = try await builder.executables(in: checkout.path, log: log.path)
        let product = try PackageBuilder.choose(manifest.product, among: executables, package: source.description)
        log.note("build: swift build -c release --product \(product)")
        let built = try await builder.build(product, in: checkout.path, log: log.path)
        let destination = options.root + "/bin/\(name)/\(generation)-\(product)"
        try PackageBuilder.package(built, to: destination)
        log.note("build: \(product) packaged as \(destination)")
        prepared.executable = destination
        prepared.product = product
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
                guard let spec = launchSpec(name, generation: generation) else { return }
                do {
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

    /// What to start for `name`'s generation, nil when it should not run (stopped, failed, replaced, removed).
    private func launchSpec(_ name: String, generation: Int) -> LaunchSpec? {
        guard let record = services[name], record.generation == generation, let executable = record.executable else { return nil }
        switch record.state.status {
        case .stopping, .stopped, .failed: return nil
        default: break
        }
        let directory = options.root + "/run/\(name)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = logFile(name)
        log.note("start: \(executable) \(record.arguments.joined(separator: " "))")
        return LaunchSpec(executable: executable, arguments: record.arguments, environment: options.serviceEnvironment(record.environment),
                          directory: directory, log: log.path)
    }

    /// Ends a process: SIGTERM, SIGKILL after the grace period; waits (bounded) until it is gone.
    private func terminate(pid: Int32, startTime: UInt64?) async {
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

    private func setStatus(_ name: String, generation: Int, _ status: SupervisionState.Status) {
        guard var record = services[name], record.generation == generation else { return }
        record.state.preparing(status)
        services[name] = record
    }

    private func fail(_ name: String, generation: Int, _ error: any Error) async {
        guard var record = services[name], record.generation == generation else { return }
        record.state.fail(error)
        services[name] = record
        logFile(name).note("failed: \(record.state.error ?? "")")
        logger.warning("\(name) failed: \(record.state.error ?? "")")
        await save(name)
    }

    private func save(_ name: String) async {
        guard let record = services[name] else { return }
        do { try await store.write(Self.keyPrefix + name, value: record) } catch {
            logger.warning("cannot save the record of \(name): \(error)")
        }
    }

    private nonisolated func enqueue(_ job: @escaping Job) throws {
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
            case .fetching, .building, .waiting:
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
}

/// What a supervisor starts.
struct LaunchSpec: Sendable {
    var executable: String
    var arguments: [String]
    var environment: [String: String]
    var directory: String
    var log: String
}

extension RuntimeServiceStatus {
    /// Takes the prepared executable and the manifest's settings.
    mutating func apply(_ prepared: PreparedService) {
        executable = prepared.executable
        product = prepared.product
        commit = prepared.commit
        arguments = prepared.manifest.args ?? []
        environment = prepared.manifest.env ?? [:]
        version = prepared.manifest.version ?? prepared.commit.map { String($0.prefix(12)) } ?? "latest"
    }
}
