import Foundation
import MicroCore

/// The behaviour every ``Store`` backend must show, as checks any backend's test target runs with a
/// factory: `@Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck)` calling
/// ``run(_:)``. Each check gets a fresh store from the factory, bound to a scope no other check uses
/// (so backends on a shared server need no cleanup between checks), and shuts it down afterwards.
public struct StoreConformance: Sendable {
    /// The backend's name, for messages.
    public let backend: String
    private let make: @Sendable () async throws -> any Store
    private let cleanup: @Sendable (any Store) async -> Void

    /// A suite for `backend`, whose stores `make` creates; `cleanup` runs after each check's store
    /// was shut down (to remove its files, say).
    public init(backend: String, make: @escaping @Sendable () async throws -> any Store,
                cleanup: @escaping @Sendable (any Store) async -> Void = { _ in }) {
        self.backend = backend
        self.make = make
        self.cleanup = cleanup
    }

    /// Runs `check` on a fresh store; throws a ``ConformanceFailure`` naming the backend and the
    /// expectation that failed.
    public func run(_ check: StoreCheck) async throws {
        let store = try await make()
        let scope = try StoreScope(database: "c" + Self.token(), table: "t" + Self.token())
        let context = StoreCheckContext(store: store.scoped(scope), backend: backend)
        do {
            try await check.body(context)
        } catch {
            await store.shutdown()
            await cleanup(store)
            throw error
        }
        await store.shutdown()
        await cleanup(store)
    }

    private static func token() -> String {
        String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10))
    }
}
