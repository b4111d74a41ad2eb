import NIOConcurrencyHelpers
import Synchronization

/// Counts every call a server handles, per endpoint: finished, failed, in flight. A handler wrapper,
/// so it sees unary calls and streams alike; endpoints beyond `maxEndpoints` are counted under `(other)`.
/// A call finds its endpoint's counters under a lock and updates them without one.
public final class RequestStats: HandlerWrapper {
    private let table = NIOLockedValueBox([String: Counts]())
    private let maxEndpoints: Int

    /// One endpoint's counters.
    private final class Counts: Sendable {
        let endpoint: String
        let requests = Atomic<Int64>(0)
        let errors = Atomic<Int64>(0)
        let inFlight = Atomic<Int64>(0)

        init(endpoint: String) {
            self.endpoint = endpoint
        }

        var figures: EndpointStats {
            EndpointStats(endpoint: endpoint, requests: requests.load(ordering: .relaxed), errors: errors.load(ordering: .relaxed),
                          inFlight: inFlight.load(ordering: .relaxed))
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
        let counts = self.counts(request.endpoint)
        counts.inFlight.wrappingAdd(1, ordering: .relaxed)
        do {
            let response = try await next(request, context)
            counts.requests.wrappingAdd(1, ordering: .relaxed)
            counts.inFlight.wrappingSubtract(1, ordering: .relaxed)
            return response
        } catch {
            counts.requests.wrappingAdd(1, ordering: .relaxed)
            counts.errors.wrappingAdd(1, ordering: .relaxed)
            counts.inFlight.wrappingSubtract(1, ordering: .relaxed)
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
