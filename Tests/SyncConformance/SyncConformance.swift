import Foundation
import MicroCore

/// The behaviour every ``Sync`` engine must show, as checks any engine's test target runs with a
/// factory: `@Test(arguments: SyncCheck.all) func conformance(_ check: SyncCheck)` calling
/// ``run(_:)``. Each check gets a fresh engine from the factory and lock names no other check uses.
public struct SyncConformance: Sendable {
    /// The engine's name, for messages.
    public let backend: String
    /// A TTL the engine honours exactly enough that a lock held with it frees within twice it (etcd
    /// grants whole seconds, at least about 2), and long enough that a loaded machine still renews in time.
    public let shortTTL: Duration
    private let make: @Sendable () async throws -> any Sync

    /// A suite for `backend`, whose engines `make` creates.
    public init(backend: String, shortTTL: Duration = .seconds(1), make: @escaping @Sendable () async throws -> any Sync) {
        self.backend = backend
        self.shortTTL = shortTTL
        self.make = make
    }

    /// Runs `check` on a fresh engine; throws a ``SyncConformanceFailure`` naming the backend and the
    /// expectation that failed.
    public func run(_ check: SyncCheck) async throws {
        let sync = try await make()
        let context = SyncCheckContext(sync: sync, backend: backend, shortTTL: shortTTL,
                                       prefix: "c" + String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)))
        do {
            try await check.body(context)
        } catch {
            await sync.shutdown()
            throw error
        }
        await sync.shutdown()
    }
}

/// An expectation of a ``SyncCheck`` that an engine did not meet.
public struct SyncConformanceFailure: Error, CustomStringConvertible {
    /// What was expected and what happened, with where in the suite.
    public var description: String
}

/// One behaviour of the sync contract, run by ``SyncConformance/run(_:)``.
public struct SyncCheck: Sendable, CustomStringConvertible {
    /// The check's name, as test reports show it.
    public let name: String
    let body: @Sendable (SyncCheckContext) async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (SyncCheckContext) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public var description: String { name }

    /// Every check.
    public static let all: [SyncCheck] = locks + expiry + leaders + validation
}
