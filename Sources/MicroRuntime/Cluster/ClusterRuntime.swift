/// A runtime that runs services in a cluster from images in a registry (Kubernetes: a Deployment
/// and a Service each): the ``ProcessRuntime`` builds and pushes the image, then asks this to roll it
/// out; the cluster, not the runtime, starts and restarts the pods.
public protocol ClusterRuntime: Sendable {
    /// Says where it runs services, for people (`kubernetes https://… namespace micro`).
    var description: String { get }
    /// Creates `workload`'s objects, or rolls the existing ones to it; answers at once (``waitRolledOut(_:timeout:)`` waits).
    func apply(_ workload: ClusterWorkload) async throws
    /// Waits until service `name` is rolled out; throws when it is not after `timeout`.
    func waitRolledOut(_ name: String, timeout: Duration) async throws -> ClusterWorkloadStatus
    /// Every service the cluster runs for Micro, as it stands.
    func statuses() async throws -> [ClusterWorkloadStatus]
    /// Deletes service `name`'s objects (its pods with them); nothing when there are none.
    func remove(_ name: String) async throws
    /// Service `name`'s last `lines` log lines from each of its pods, then, with `follow`, each new line,
    /// to `body`, until the pods end or the caller is cancelled.
    func logs(_ name: String, lines: Int, follow: Bool, _ body: @escaping @Sendable (String) async throws -> Void) async throws
}
