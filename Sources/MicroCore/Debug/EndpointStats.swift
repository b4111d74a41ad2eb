/// One endpoint's calls since the service started, as `Debug.Stats` reports them.
public struct EndpointStats: Codable, Sendable, Hashable {
    /// The endpoint, e.g. `Greeter.Hello`.
    public var endpoint: String
    /// Calls handled (finished), successful or not.
    public var requests: Int64
    /// Calls that ended in an error (any MicroError code).
    public var errors: Int64
    /// Calls running now.
    public var inFlight: Int64

    /// Creates a figure.
    public init(endpoint: String, requests: Int64 = 0, errors: Int64 = 0, inFlight: Int64 = 0) {
        self.endpoint = endpoint
        self.requests = requests
        self.errors = errors
        self.inFlight = inFlight
    }
}
