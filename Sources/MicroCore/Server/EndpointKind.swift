/// How an endpoint exchanges messages: the four shapes gRPC names, which every transport serves.
public enum EndpointKind: String, Sendable, Hashable, CaseIterable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// Requests and responses flow independently.
    case bidirectionalStreaming

    /// Whether the endpoint is called as a stream (every kind but ``unary``).
    public var isStreaming: Bool { self != .unary }
}
