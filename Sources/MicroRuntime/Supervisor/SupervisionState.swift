import Foundation

/// One service's life under the runtime, as a state machine: fetched, built, started, crashed and
/// restarted with backoff, left failed after a crash loop, stopped. The supervisor only turns events
/// (a process started or ended, a stop asked for) into calls here; the decisions are made here.
public struct SupervisionState: Sendable, Hashable, Codable {
    /// Where the service is in its life.
    public enum Status: String, Sendable, Hashable, Codable, CustomStringConvertible {
        /// Its source is being fetched.
        case fetching
        /// Its package is being built.
        case building
        /// Built, waiting for its dependencies to be healthy.
        case waiting
        /// Its image is being pushed to the image registry (the Kubernetes runtime).
        case pushing
        /// Its Deployment is being created or patched and rolled out (the Kubernetes runtime).
        case deploying
        /// Its process runs (the Kubernetes runtime: its Deployment is rolled out).
        case running
        /// It crashed and waits to be restarted.
        case backoff
        /// It is being stopped.
        case stopping
        /// It was stopped.
        case stopped
        /// It cannot run: a fetch or build error, a crash loop, a failed dependency (see ``SupervisionState/error``).
        case failed
        public var description: String { rawValue }
    }

    /// What a supervisor does after its process ended.
    enum Decision: Sendable, Hashable {
        /// Start it again after the wait.
        case restart(after: Duration)
        /// Leave it: it was stopped, or it failed.
        case stop
    }

    /// Where the service is.
    public internal(set) var status: Status = .fetching
    /// The running process's pid.
    public internal(set) var pid: Int32?
    /// The running process's start time (`/proc/PID/stat`), to tell it from a later process with its pid.
    public internal(set) var pidStartTime: UInt64?
    /// The running container's id (the container runtime; ``pid`` is then its `podman run`'s).
    public internal(set) var container: String?
    /// When the running process started (seconds since 1970).
    public internal(set) var startedAt: Double?
    /// When it was first seen healthy (registered and answering `Debug.Health`), if it was checked.
    public internal(set) var healthyAt: Double?
    /// Restarts after crashes, in all.
    public internal(set) var restarts = 0
    /// Crashes in a row (reset by a run longer than the policy's ``RestartPolicy/stableAfter``).
    public internal(set) var crashesInARow = 0
    /// How the last process ended.
    public internal(set) var lastExit: String?
    /// Why the service failed (a ``RuntimeError``'s code and detail), nil unless ``status`` is `failed`.
    public internal(set) var error: String?

    /// A new service, being fetched.
    public init() {}

    /// Preparing: fetching or building (a new process generation replaces a failed state).
    mutating func preparing(_ status: Status) {
        self.status = status
        error = nil
    }

    /// Its container's id is known (read from podman's cid file after the start).
    mutating func identified(container: String) {
        if status == .running { self.container = container }
    }

    /// Its process started.
    mutating func started(pid: Int32, startTime: UInt64?, container: String? = nil, at now: Date = Date()) {
        status = .running
        self.pid = pid
        pidStartTime = startTime
        self.container = container
        startedAt = now.timeIntervalSince1970
        healthyAt = nil
    }

    /// Its Deployment is rolled out (the Kubernetes runtime: no process of the runtime's own; Kubernetes
    /// restarts the pods); the uptime counts from the last rollout.
    mutating func rolledOut(at now: Date = Date()) {
        startedAt = now.timeIntervalSince1970
        status = .running
        error = nil
        pid = nil
        pidStartTime = nil
        container = nil
        healthyAt = now.timeIntervalSince1970
    }

    /// Seen healthy.
    mutating func healthy(at now: Date = Date()) {
        if healthyAt == nil { healthyAt = now.timeIntervalSince1970 }
    }

    /// A stop was asked for.
    mutating func stopping() {
        if status != .failed { status = .stopping }
    }

    /// Its process ended: restart after a backoff, or stay stopped (asked) or failed (a crash loop).
    mutating func exited(_ exit: ProcessExit, policy: RestartPolicy, at now: Date = Date()) -> Decision {
        let ranFor = startedAt.map { now.timeIntervalSince1970 - $0 } ?? 0
        pid = nil
        pidStartTime = nil
        container = nil
        startedAt = nil
        healthyAt = nil
        lastExit = exit.description
        if status == .stopping || status == .stopped {
            status = .stopped
            return .stop
        }
        if ranFor >= Double(policy.stableAfter.components.seconds) { crashesInARow = 0 }
        crashesInARow += 1
        if crashesInARow > policy.crashLimit {
            fail(RuntimeError(.crashLoop, "\(exit) \(crashesInARow) times in a row (restart limit \(policy.crashLimit))"))
            return .stop
        }
        restarts += 1
        status = .backoff
        return .restart(after: policy.backoff(after: crashesInARow))
    }

    /// It was stopped and its process has ended.
    mutating func stopped() {
        if status != .failed { status = .stopped }
        pid = nil
        pidStartTime = nil
        container = nil
        startedAt = nil
    }

    /// It cannot run.
    mutating func fail(_ error: any Error) {
        status = .failed
        self.error = (error as? RuntimeError)?.description ?? "\(error)"
    }
}
