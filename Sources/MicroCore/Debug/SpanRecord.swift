/// A finished span as a service's trace buffer keeps it and `Debug.Trace` answers it (go-micro's
/// `debug.Span`, with W3C ids).
public struct SpanRecord: Codable, Sendable, Hashable {
    /// The trace id, 32 lowercase hex digits.
    public var traceID: String
    /// The span id, 16 lowercase hex digits.
    public var spanID: String
    /// The parent span's id; nil for a trace's root.
    public var parentID: String?
    /// The operation, e.g. the endpoint `Greeter.Hello`.
    public var name: String
    /// `server`, `client`, `producer`, `consumer` or `internal`.
    public var kind: String
    /// The service that recorded it.
    public var service: String
    /// When it started, in nanoseconds since 1970 (UTC).
    public var start: Int64
    /// How long it took, in nanoseconds.
    public var duration: Int64
    /// Its attributes rendered as text (at most ``DebugLimits/maxEntries``).
    public var attributes: [String: String]
    /// `unset`, `ok` or `error`.
    public var status: String
    /// The status's message, for an error.
    public var statusMessage: String?

    /// Creates a record.
    public init(traceID: String, spanID: String, parentID: String?, name: String, kind: String, service: String,
                start: Int64, duration: Int64, attributes: [String: String] = [:], status: String = "unset", statusMessage: String? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentID = parentID
        self.name = name
        self.kind = kind
        self.service = service
        self.start = start
        self.duration = duration
        self.attributes = attributes
        self.status = status
        self.statusMessage = statusMessage
    }
}
