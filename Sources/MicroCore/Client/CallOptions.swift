import NIOCore

/// How one call is made: timeout, retries, content type, node filters, extra metadata.
public struct CallOptions: Sendable {
    /// How long the call may take, all retries included (go-micro's default: 5 s).
    public var timeout: Duration
    /// How long a stream may stay open; nil: until either side ends it (go-micro's default for streams).
    public var streamTimeout: Duration?
    /// How many more attempts after the first (go-micro's default: 1).
    public var retries: Int
    /// The wait before retry `n` (0-based); the default waits 0, then 100 ms × n^e as go-micro does.
    public var backoff: @Sendable (Int) -> Duration
    /// Whether a failure may be tried again on another node.
    public var shouldRetry: @Sendable (any Error) -> Bool
    /// The content type to encode the request with.
    public var contentType: String
    /// Filters applied to the service's nodes.
    public var filters: [NodeFilter]
    /// Metadata sent with this call (on top of the task's ``CallContext``).
    public var metadata: Metadata
    /// Call this address directly, skipping the registry.
    public var address: String?

    /// Options with go-micro's defaults.
    public init(timeout: Duration = .seconds(5), retries: Int = 1, contentType: String = "application/json",
                filters: [NodeFilter] = [], metadata: Metadata = Metadata(), address: String? = nil) {
        self.timeout = timeout
        self.streamTimeout = nil
        self.retries = retries
        self.contentType = contentType
        self.filters = filters
        self.metadata = metadata
        self.address = address
        self.backoff = CallOptions.exponentialBackoff
        self.shouldRetry = CallOptions.retryOnTransientError
    }

    /// go-micro's backoff: none before the first retry, then 100 ms × attempt^e.
    public static let exponentialBackoff: @Sendable (Int) -> Duration = { attempt in
        attempt == 0 ? .zero : .milliseconds(Int64(100 * pow(Double(attempt), M_E)))
    }

    /// Retries when the node could not be reached or the connection broke, and on 408/502/503/504 from a node.
    public static let retryOnTransientError: @Sendable (any Error) -> Bool = { error in
        if let t = error as? TransportError {
            return t.code == .connectFailed || t.code == .connectionClosed
        }
        if let m = error as? MicroError { return [408, 502, 503, 504].contains(m.code) }
        return false
    }
}

import Foundation
