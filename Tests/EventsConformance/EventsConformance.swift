import Foundation
import MicroCore

/// The behaviour every ``EventStream`` and ``EventStore`` backend must show, as checks any backend's
/// test target runs with a factory: `@Test(arguments: EventStreamCheck.all) func stream(_ check:)`
/// calling ``run(_:)-(EventStreamCheck)``, and likewise for ``EventStoreCheck``. Each check gets fresh
/// engines from the factories and topics no other check uses (so backends on a shared server need no
/// cleanup), and shuts them down afterwards.
public struct EventsConformance: Sendable {
    /// The backend's name, for messages.
    public let backend: String
    private let makeStream: (@Sendable () async throws -> any EventStream)?
    private let makeStore: (@Sendable (EventRetention) async throws -> any EventStore)?

    /// A suite for `backend`: `stream` makes its event streams, `store` its event stores with a retention.
    public init(backend: String, stream: (@Sendable () async throws -> any EventStream)? = nil,
                store: (@Sendable (EventRetention) async throws -> any EventStore)? = nil) {
        self.backend = backend
        self.makeStream = stream
        self.makeStore = store
    }

    /// Runs `check` on fresh streams; throws a ``EventsConformanceFailure`` naming the backend and the
    /// expectation that failed.
    public func run(_ check: EventStreamCheck) async throws {
        guard makeStream != nil else { throw EventsConformanceFailure(description: "[\(backend)] has no event stream factory") }
        try await run(check.body)
    }

    /// Runs `check` on fresh stores.
    public func run(_ check: EventStoreCheck) async throws {
        guard makeStore != nil else { throw EventsConformanceFailure(description: "[\(backend)] has no event store factory") }
        try await run(check.body)
    }

    /// Runs a check's body with a context of its own, shutting down what it made whatever happens.
    private func run(_ body: @Sendable (EventsCheckContext) async throws -> Void) async throws {
        let context = EventsCheckContext(backend: backend, prefix: "c" + Self.token(), makeStream: makeStream, makeStore: makeStore)
        do {
            try await body(context)
        } catch {
            await context.shutdownAll()
            throw error
        }
        await context.shutdownAll()
    }

    static func token() -> String {
        String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10))
    }
}

/// An expectation of a check that a backend did not meet.
public struct EventsConformanceFailure: Error, CustomStringConvertible {
    /// What was expected and what happened, with where in the suite.
    public var description: String
}
