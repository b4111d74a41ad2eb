import NIOConcurrencyHelpers

/// Counts every call a server handles, per endpoint: finished, failed, in flight. A handler wrapper,
/// so it sees unary calls and streams alike; endpoints beyond `maxEndpoints` are counted under `(other)`.
public final class RequestStats: HandlerWrapper {
    private let state = NIOLockedValueBox([String: EndpointStats]())
    private let maxEndpoints: Int

    /// Stats for at most `maxEndpoints` named endpoints.
    public init(maxEndpoints: Int = 1024) {
        self.maxEndpoints = maxEndpoints
    }

    public func handle(
        _ request: RPCRequest,
        context: HandlerContext,
        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        let key = update(request.endpoint) { $0.inFlight += 1 }
        do {
            let response = try await next(request, context)
            update(key) { $0.inFlight -= 1; $0.requests += 1 }
            return response
        } catch {
            update(key) { $0.inFlight -= 1; $0.requests += 1; $0.errors += 1 }
            throw error
        }
    }

    /// Every endpoint's figures, sorted by name.
    public var endpoints: [EndpointStats] {
        state.withLockedValue { Array($0.values) }.sorted { $0.endpoint < $1.endpoint }
    }

    @discardableResult
    private func update(_ endpoint: String, _ change: (inout EndpointStats) -> Void) -> String {
        state.withLockedValue { table in
            let key = table[endpoint] != nil || table.count < maxEndpoints ? endpoint : "(other)"
            change(&table[key, default: EndpointStats(endpoint: key)])
            return key
        }
    }
}
