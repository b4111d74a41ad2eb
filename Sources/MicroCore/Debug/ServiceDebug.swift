import Foundation
import Logging
import NIOConcurrencyHelpers

/// A service's debug side (go-micro's debug handler): its log buffer, span buffer and tracer, call
/// counts, and the `Debug.Log`, `Debug.LogStream`, `Debug.Stats` and `Debug.Trace` endpoints that
/// answer from them. Cheap when nobody asks: appends to bounded rings and a few counters.
public final class ServiceDebug: Sendable {
    /// The service it reports on.
    public let service: String
    /// The bounds of its buffers and answers.
    public let limits: DebugLimits
    /// The last log records of loggers teed into it (``DebugLogHandler``).
    public let logs: LogBuffer
    /// The last finished spans of its ``tracer``.
    public let spans: SpanBuffer
    /// The tracer whose spans it keeps.
    public let tracer: DebugTracer
    /// Calls per endpoint (a handler wrapper the service installs).
    public let requests: RequestStats
    private let started: Date
    private let connectionCount = NIOLockedValueBox<(@Sendable () -> Int?)?>(nil)

    /// Debug state for `service` with `limits`; spans go to the bootstrapped tracer too, if any.
    public init(service: String, limits: DebugLimits = DebugLimits()) {
        self.service = service
        self.limits = limits
        self.logs = LogBuffer(limits: limits)
        self.spans = SpanBuffer(limits: limits)
        self.tracer = DebugTracer(service: service, buffer: spans)
        self.requests = RequestStats()
        self.started = Date()
    }

    /// Where the open connection count comes from (the server's listener), for ``stats()``.
    public func countConnections(_ count: @escaping @Sendable () -> Int?) {
        connectionCount.withLockedValue { $0 = count }
    }

    /// `logger` teeing its records into ``logs``.
    public func tee(_ logger: Logger) -> Logger {
        DebugLogHandler.tee(logger, into: logs)
    }

    /// The figures now.
    public func stats() -> DebugStats {
        let process = ProcessStats.current()
        let endpoints = requests.endpoints
        let usage = logs.usage
        let now = Date()
        return DebugStats(
            service: service, time: Self.nanos(now), started: Self.nanos(started), uptime: now.timeIntervalSince(started),
            memory: process.residentBytes, cpuUser: process.cpuUserSeconds, cpuSystem: process.cpuSystemSeconds,
            threads: process.threads, openFiles: process.openFiles,
            requests: endpoints.reduce(0) { $0 + $1.requests }, errors: endpoints.reduce(0) { $0 + $1.errors },
            inFlight: endpoints.reduce(0) { $0 + $1.inFlight }, connections: connectionCount.withLockedValue { $0 }?(),
            endpoints: endpoints, logRecords: usage.records, logBytes: usage.bytes, logDropped: usage.evicted, spans: spans.count)
    }

    /// The answer to `Debug.Log`.
    public func log(_ request: DebugLogRequest) throws(DebugError) -> LogBatch {
        let minimum = try LogLevelFilter.parse(request.level)
        return LogBatch(records: logs.records(count: try Self.count(request.count, default: 100), since: request.since, minimum: minimum))
    }

    /// The answer to `Debug.Trace`.
    public func trace(_ request: DebugTraceRequest) throws(DebugError) -> DebugTraceResponse {
        let count = try Self.count(request.count, default: 100)
        if let id = request.traceID {
            guard id.utf8.count == 32, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw DebugError(.invalidArgument, "trace id \(String(id.prefix(40)).debugDescription) is not 32 lowercase hex digits")
            }
        }
        return DebugTraceResponse(spans: spans.spans(count: count, traceID: request.traceID))
    }

    /// Registers `Debug.Log`, `Debug.LogStream`, `Debug.Stats` and `Debug.Trace` on `router`.
    public func register(on router: Router) {
        router.handle("Debug.Log") { [self] (request: DebugLogRequest, _) in try log(request) }
        router.handle("Debug.Stats") { [self] (_: DebugStatsRequest, _) in stats() }
        router.handle("Debug.Trace") { [self] (request: DebugTraceRequest, _) in try trace(request) }
        router.handle("Debug.LogStream") { [self] (request: DebugLogRequest, stream: ServerStream<LogBatch>, _) in
            try await follow(request, stream)
        }
    }

    /// `Debug.LogStream`: the backlog asked for, then batches of new records as they come, each with
    /// how many records this reader missed by being slow. Ends when the caller goes away.
    private func follow(_ request: DebugLogRequest, _ stream: ServerStream<LogBatch>) async throws {
        let minimum = try LogLevelFilter.parse(request.level)
        let backlog = try Self.count(request.count, default: 0)
        try await logs.withReader(minimum: minimum) { reader in
            if backlog > 0 {
                try await stream.send(LogBatch(records: logs.records(count: backlog, since: request.since, minimum: minimum)))
            }
            while let batch = await reader.next() {
                try await stream.send(batch)
            }
        }
    }

    private static func count(_ count: Int?, default value: Int) throws(DebugError) -> Int {
        guard let count else { return value }
        guard count >= 0 else { throw DebugError(.invalidArgument, "count \(count) is negative") }
        return count
    }

    private static func nanos(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970 * 1_000_000_000)
    }
}
