import Foundation
import MicroCore

/// The behaviour every store must show for models, the same checks on key-value stores (through
/// index records) and SQL stores (through tables): a backend's tests run
/// `@Test(arguments: ModelCheck.all) func models(_ check: ModelCheck)` calling ``run(_:)``.
public struct ModelConformance: Sendable {
    let stores: StoreConformance

    /// A suite for `backend`, whose stores `make` creates; `cleanup` runs after each check.
    public init(backend: String, make: @escaping @Sendable () async throws -> any Store,
                cleanup: @escaping @Sendable (any Store) async -> Void = { _ in }) {
        stores = StoreConformance(backend: backend, make: make, cleanup: cleanup)
    }

    /// Runs `check` on a fresh store (in a database of its own); throws a ``ConformanceFailure``.
    public func run(_ check: ModelCheck) async throws {
        try await stores.run(StoreCheck(check.name, check.body))
    }
}

/// One behaviour of the model contract, run by ``ModelConformance/run(_:)``.
public struct ModelCheck: Sendable, CustomStringConvertible {
    /// The check's name, as test reports show it.
    public let name: String
    let body: @Sendable (StoreCheckContext) async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (StoreCheckContext) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public var description: String { name }

    /// Every check.
    public static let all: [ModelCheck] = crud + queries + validation + evolution
}
