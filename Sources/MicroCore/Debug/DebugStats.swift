/// `Debug.Stats`'s answer: the process's resources and the service's calls (go-micro's `debug.Stats`
/// with CPU time, open files, per-endpoint figures and connections).
public struct DebugStats: Codable, Sendable, Hashable {
    /// The service.
    public var service: String
    /// When it was read, in nanoseconds since 1970 (UTC).
    public var time: Int64
    /// When the service started, in nanoseconds since 1970 (UTC).
    public var started: Int64
    /// Seconds since it started.
    public var uptime: Double
    /// Resident memory in bytes.
    public var memory: Int64
    /// CPU time in user mode, seconds.
    public var cpuUser: Double
    /// CPU time in the kernel, seconds.
    public var cpuSystem: Double
    /// Threads of the process.
    public var threads: Int
    /// Open file descriptors of the process.
    public var openFiles: Int
    /// Calls handled, all endpoints.
    public var requests: Int64
    /// Calls that failed, all endpoints.
    public var errors: Int64
    /// Calls running now.
    public var inFlight: Int64
    /// Connections open to the server now; nil when its transport does not count them.
    public var connections: Int?
    /// Per endpoint.
    public var endpoints: [EndpointStats]
    /// Log records and bytes in the debug buffer, and records dropped to stay in its bounds.
    public var logRecords: Int
    /// See ``logRecords``.
    public var logBytes: Int
    /// See ``logRecords``.
    public var logDropped: Int
    /// Spans in the trace buffer.
    public var spans: Int
}
