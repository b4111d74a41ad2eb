import NIOConcurrencyHelpers
import Synchronization

/// Counts every call a server handles, per endpoint: finished, failed, in flight. A handler wrapper,
/// so it sees unary calls and streams alike; endpoints beyond `maxEndpoints` are counted under `(other)`.
/// A call updates its endpoint's counters without a lock (the router prepares them per endpoint), with
/// two atomic adds: one as it starts, one as it ends.
public final class RequestStats: HandlerWrapper, EndpointPreparingWrapper {
    private let table = NIOLockedValueBox([String: Counts]())
    private let maxEndpoints: Int

    /// One endpoint's counters.
    private final class Counts: Sendable {
        let endpoint: String
        let started = Atomic<Int64>(0)
        let finished = Atomic<Int64>(0)
        let errors = Atomic<Int64>(0)

        init(endpoint: String) {
            self.endpoint = endpoint
        }

        /// In flight: started and not finished (read finished first, so never below zero).
        var figures: EndpointStats {
            let finished = finished.load(ordering: .acquiring)
            let started = started.load(ordering: .acquiring)
            return EndpointStats(endpoint: endpoint, requests: finished, errors: errors.load(ordering: .relaxed),
                                 inFlight: max(0, started - finished))
        }
    }

    /// Stats for at most `maxEndpoints` named endpoints.
    public init(maxEndpoints: Int = 1024) {
        self.maxEndpoints = maxEndpoints
    }

    public func handle(
        _ request: RPCRequest,
        context: HandlerContext,
        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        try await Self.count(counts(request.endpoint), request, context, next)
    }

    /// The endpoint's counters found once.
    package func prepared(service: String, endpoint: String) -> any HandlerWrapper {
        Prepared(stats: self, endpoint: endpoint, counts: counts(endpoint))
    }

    /// The wrapper for one endpoint, holding its counters; a call to another endpoint goes the general way.
    private struct Prepared: HandlerWrapper {
        let stats: RequestStats
        let endpoint: String
        let counts: Counts

        func handle(
            _ request: RPCRequest,
            context: HandlerContext,
            next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            guard request.endpoint == endpoint else { return try await stats.handle(request, context: context, next: next) }
            return try await RequestStats.count(counts, request, context, next)
        }
    }

    /// Inlined into the wrappers: an async call of its own would add a hop back to the executor on its return.
    @inline(__always)
    private static func count(
        _ counts: Counts, _ request: RPCRequest, _ context: HandlerContext,
        _ next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        counts.started.wrappingAdd(1, ordering: .releasing)
        do {
            let response = try await next(request, context)
            counts.finished.wrappingAdd(1, ordering: .releasing)
            return response
        } catch {
            counts.errors.wrappingAdd(1, ordering: .relaxed)
            counts.finished.wrappingAdd(1, ordering: .releasing)
            throw error
        }
    }

    /// Every endpoint's figures, sorted by name.
    public var endpoints: [EndpointStats] {
        table.withLockedValue { Array($0.values) }.map(\.figures).sorted { $0.endpoint < $1.endpoint }
    }

    private func counts(_ endpoint: String) -> Counts {
        table.withLockedValue { table in
            if let counts = table[endpoint] { return counts }
            let key = table.count < maxEndpoints ? endpoint : "(other)"
            if let other = table[key] { return other }
            let counts = Counts(endpoint: key)
            table[key] = counts
            return counts
        }
    }
}
