import Foundation
import MicroCore

/// The runtime service's endpoints over a ``ProcessRuntime``, with go-micro's names: `Runtime.Create`
/// (run a source), `Runtime.Read` (list), `Runtime.Update`, `Runtime.Delete` and `Runtime.Logs` (a
/// server stream of log lines: the runtime's log file, or a cluster service's pod logs). Register it on a service named ``serviceName`` (`micro runtime` does).
public struct RuntimeHandler: EndpointGroup {
    /// The name the CLI calls: `runtime`.
    public static let serviceName = "runtime"
    /// The most log lines one `Runtime.Logs` request sends before following.
    public static let maxLogLines: Int64 = 10_000

    /// The runtime served.
    public let runtime: ProcessRuntime

    /// A handler serving `runtime`.
    public init(runtime: ProcessRuntime) { self.runtime = runtime }

    public func registerEndpoints(on router: Router) {
        let runtime = self.runtime
        router.handle("Runtime.Create") { (request: RuntimeCreateRequest, _) in
            guard let text = request.service.source, !text.isEmpty else { throw RuntimeError(.badSource, "service.source is required") }
            // Relative paths are the caller's to resolve: only absolute ones are taken here.
            let source = try RuntimeSource(parsing: text, relativeTo: "/")
            let name = request.service.name.flatMap { $0.isEmpty ? nil : $0 }
            if let name, !RuntimeManifest.isValidName(name) { throw RuntimeError(.badSource, "'\(name.prefix(100))' is not a service name") }
            var kind: RuntimeKind?
            if let text = request.options?.runtime, !text.isEmpty {
                guard let named = RuntimeKind(rawValue: text) else {
                    throw RuntimeError(.badSource, "runtime '\(text.prefix(100))' is not one of \(RuntimeKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kind = named
            }
            return RuntimeCreateResponse(services: try await runtime.create(source, name: name, kind: kind))
        }
        router.handle("Runtime.Read") { (request: RuntimeReadRequest, _) in
            let name = request.options?.service.flatMap { $0.isEmpty ? nil : $0 }
            return RuntimeReadResponse(services: try await runtime.list(name))
        }
        router.handle("Runtime.Update") { (request: RuntimeUpdateRequest, _) in
            try await runtime.update(try request.service.requiredName())
            return RuntimeEmptyResponse()
        }
        router.handle("Runtime.Delete") { (request: RuntimeDeleteRequest, _) in
            try await runtime.delete(try request.service.requiredName())
            return RuntimeEmptyResponse()
        }
        router.handle("Runtime.Logs") { (request: RuntimeLogsRequest, stream: ServerStream<RuntimeLogRecord>, _) in
            let count = Int(min(max(request.count ?? 100, 0), Self.maxLogLines))
            // A service the cluster runs: its pods' logs, through the cluster's API.
            if let cluster = runtime.cluster, let record = try await runtime.list(request.service).first, record.kind == .kubernetes,
               record.cluster != nil || record.state.status == .deploying {
                try await cluster.logs(request.service, lines: count, follow: request.stream == true) { try await stream.send(Self.record($0)) }
                return
            }
            _ = try await runtime.logPath(request.service)
            let log = runtime.logFile(request.service)
            var (lines, offset) = log.lastLines(count)
            for line in lines { try await stream.send(Self.record(line)) }
            guard request.stream == true else { return }
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(200))
                (lines, offset) = log.lines(after: offset)
                for line in lines { try await stream.send(Self.record(line)) }
                if lines.isEmpty, (try? await runtime.logPath(request.service)) == nil { return }   // removed
            }
        }
    }

    static func record(_ line: String) -> RuntimeLogRecord {
        RuntimeLogRecord(timestamp: Int64(Date().timeIntervalSince1970), metadata: nil, message: line)
    }
}
