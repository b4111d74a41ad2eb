import AsyncHTTPClient
import Foundation
import MicroRuntime
import NIOSSL
import Synchronization

/// The Kubernetes runtime as the runtime service's ``ClusterRuntime`` (`micro run --kubernetes`):
/// create-or-update, rollouts, statuses, deletion, and the pods' logs through the API.
extension KubernetesRuntime: ClusterRuntime {
    /// The most pods whose logs one call reads.
    public static let maxLogPods = 32
    /// The most bytes read of one pod's log without `follow` (the API's `limitBytes`).
    public static let maxLogBytes = 4 << 20
    /// The longest log line passed on; longer ones are cut.
    public static let maxLogLineBytes = 16 << 10
    /// The most lines waiting to be passed on while following; more are dropped (and counted).
    public static let maxBufferedLogLines = 4096

    /// `kubernetes SERVER namespace NS`.
    public var description: String { "kubernetes \(configuration.server) namespace \(configuration.namespace)" }

    /// Creates the service's objects, or (when its Deployment exists) patches it to `workload`.
    public func apply(_ workload: ClusterWorkload) async throws {
        do {
            try await create(workload)
        } catch let error as KubernetesError where error.code == .alreadyExists {
            try await update(workload)
        }
    }

    /// Waits until the service's Deployment is rolled out (``waitReady(_:timeout:)``).
    public func waitRolledOut(_ name: String, timeout: Duration) async throws -> ClusterWorkloadStatus {
        clusterStatus(try await waitReady(name, timeout: timeout))
    }

    /// Every Micro service's Deployment in the namespace.
    public func statuses() async throws -> [ClusterWorkloadStatus] {
        try await list().map(clusterStatus)
    }

    /// Deletes the service's Deployment and Service; nothing when neither exists.
    public func remove(_ name: String) async throws {
        do {
            try await delete(name)
        } catch let error as KubernetesError where error.code == .notFound {
        }
    }

    /// The names of the service's pods (`labelSelector=micro.mu/name=NAME`), sorted, at most ``maxLogPods``.
    public func pods(of service: String) async throws -> [String] {
        let selector = "micro.mu/name=\(service)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let list = try await api.call(.GET, api.podsPath() + "?labelSelector=" + selector, as: ObjectList<Pod>.self)
        let names = try (list.items ?? []).map { pod -> String in
            guard let name = pod.metadata.name, Self.isObjectName(name) else {
                throw KubernetesError(.badResponse, "GET pods of \(service): a pod without a valid name")
            }
            return name
        }
        return Array(names.sorted().prefix(Self.maxLogPods))
    }

    /// The last `lines` lines of each of the service's pods (each line prefixed `[POD] ` when there are
    /// several), then, with `follow`, their new lines as they are written, until every pod's log ends or
    /// the caller is cancelled. Throws ``KubernetesError/Code/notFound`` when no pod runs.
    public func logs(_ name: String, lines: Int, follow: Bool, _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let pods = try await pods(of: name)
        guard !pods.isEmpty else {
            throw KubernetesError(.notFound, "no pod of \(name) in namespace \(configuration.namespace)", status: 404)
        }
        let tail = max(0, min(lines, 100_000))
        let api = self.api
        let path: @Sendable (String) -> String = { pod in
            api.podsPath(pod) + "/log?tailLines=\(tail)" + (follow ? "&follow=true" : "&limitBytes=\(Self.maxLogBytes)")
        }
        let several = pods.count > 1
        let label: @Sendable (String, String) -> String = { pod, line in several ? "[\(pod)] \(line)" : line }
        guard follow else {
            for pod in pods {
                try await api.lines(path(pod), maxBytes: Self.maxLogBytes, maxLineBytes: Self.maxLogLineBytes,
                                    deadline: configuration.requestTimeout) { try await body(label(pod, $0)) }
            }
            return
        }
        // Followed: one reader per pod, their lines passed on one at a time (a bounded buffer between).
        let (merged, continuation) = AsyncThrowingStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(Self.maxBufferedLogLines))
        let dropped = DroppedLines()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await withThrowingTaskGroup(of: Void.self) { readers in
                        for pod in pods {
                            readers.addTask {
                                try await api.lines(path(pod), maxBytes: nil, maxLineBytes: Self.maxLogLineBytes, deadline: nil) { line in
                                    if case .dropped = continuation.yield(label(pod, line)) { dropped.add() }
                                }
                            }
                        }
                        try await readers.waitForAll()
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            for try await line in merged {
                let lost = dropped.take()
                if lost > 0 { try await body("[runtime] \(lost) log lines dropped (reading too slowly)") }
                try await body(line)
            }
            try await group.waitForAll()
        }
    }

    /// Runs `body` with a runtime for `configuration`: with an HTTP client of its own that trusts
    /// ``KubernetesConfiguration/caFile`` when one is named (shut down afterwards), else the shared one.
    @discardableResult
    public static func with<T: Sendable>(_ configuration: KubernetesConfiguration, _ body: (KubernetesRuntime) async throws -> T) async throws -> T {
        guard let caFile = configuration.caFile else { return try await body(KubernetesRuntime(configuration: configuration)) }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
        do {
            let result = try await body(KubernetesRuntime(configuration: configuration, client: client))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func clusterStatus(_ status: Status) -> ClusterWorkloadStatus {
        ClusterWorkloadStatus(name: status.name, object: "deployment/" + ((try? Self.objectName(for: status.name)) ?? status.name),
                              namespace: configuration.namespace, image: status.image, replicas: status.replicas,
                              readyReplicas: status.readyReplicas, ready: status.ready)
    }

    /// A DNS subdomain: 1 to 253 of `[a-z0-9.-]`.
    static func isObjectName(_ name: String) -> Bool {
        (1...253).contains(name.utf8.count) && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }
    }
}

/// Lines dropped while following logs, counted by the readers and reported by the writer.
private final class DroppedLines: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    func take() -> Int { count.withLock { value in defer { value = 0 }; return value } }
}
