/// Where a ``JetStream`` context sends its API requests and how long it waits for answers.
public struct JetStreamOptions: Sendable, Hashable {
    /// The API subject prefix: `$JS.API` by default, `$JS.<domain>.API` for a domain, or an import's prefix.
    public var apiPrefix: String
    /// How long one API request or publish waits for its answer.
    public var timeout: Duration
    /// The largest API answer accepted, in bytes; a larger one fails with ``JetStreamError/Code/invalidResponse``.
    public var maxResponseBytes: Int

    /// Options for the account's own JetStream (`$JS.API`).
    public init(apiPrefix: String = "$JS.API", timeout: Duration = .seconds(5), maxResponseBytes: Int = 8 << 20) {
        self.apiPrefix = apiPrefix.hasSuffix(".") ? String(apiPrefix.dropLast()) : apiPrefix
        self.timeout = timeout
        self.maxResponseBytes = max(1024, maxResponseBytes)
    }

    /// Options for the JetStream of `domain` (`$JS.<domain>.API`).
    public static func domain(_ domain: String, timeout: Duration = .seconds(5)) -> JetStreamOptions {
        JetStreamOptions(apiPrefix: "$JS.\(domain).API", timeout: timeout)
    }
}
