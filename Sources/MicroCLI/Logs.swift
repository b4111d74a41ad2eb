import ArgumentParser
import Foundation
import Micro
import MicroRuntime

/// `micro logs SERVICE [-f] [--level LEVEL] [-n COUNT]`: the last log records of every node of a
/// service (`Debug.Log`), or, with `-f`, new records as they come (`Debug.LogStream`). A service the
/// runtime (`micro run`) runs is read from its log files instead: its stdout and stderr and the
/// runtime's notes (builds with their compiler errors, starts, crashes, restarts).
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a service's recent log records from every node; -f follows new ones.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String
    @Flag(name: .shortAndLong, help: "Follow: print new records as they are logged, until interrupted.") var follow = false
    @Option(help: "Least level: trace, debug, info, notice, warning, error, critical.") var level: String?
    @Option(name: [.customShort("n"), .long], help: "How many recent records per node (capped by the service).") var count: Int?
    @Flag(help: "Print each record as JSON.") var json = false
    @OptionGroup var runtime: RuntimeCallOptions
    @Flag(name: .customLong("debug-log"), help: "Read Debug.Log even when the runtime runs the service.") var debugLog = false

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must not be negative") }
    }

    func run() async throws {
        try await runReporting {
            try await global.withClient { client in
                if try await runtimeLogs(client) { return }
                let nodes = try await DebugNodes(service, client: client, options: global.callOptions)
                if follow {
                    try await followAll(nodes, client)
                } else {
                    var records: [(Node, LogRecord)] = []
                    for node in nodes.nodes {
                        let batch: LogBatch = try await client.call(service, "Debug.Log", DebugLogRequest(count: count ?? 100, level: level),
                                                                    options: nodes.options(for: node))
                        records += batch.records.map { (node, $0) }
                    }
                    for (node, record) in records.sorted(by: { $0.1.time < $1.1.time }) { try print(record, node: node, many: nodes.nodes.count > 1) }
                }
            }
        }
    }

    /// Prints the service's runtime log files when a runtime runs it; false when no runtime answers
    /// or it does not run the service (then its nodes' `Debug.Log` is read).
    private func runtimeLogs(_ client: Client) async throws -> Bool {
        guard !debugLog else { return false }
        let runtimeClient = RuntimeClient(client: client, service: runtime.service, options: global.callOptions)
        do { _ = try await runtimeClient.list(service) } catch { return false }
        try await runtimeClient.logs(service, count: min(count ?? 100, Int(RuntimeHandler.maxLogLines)), follow: follow) { try emit($0) }
        return true
    }

    private func followAll(_ nodes: DebugNodes, _ client: Client) async throws {
        var options = global.callOptions
        options.streamTimeout = global.timeoutGiven ? options.timeout : nil
        try await withThrowingTaskGroup(of: Void.self) { group in
            for node in nodes.nodes {
                var nodeOptions = nodes.options(for: node)
                nodeOptions.streamTimeout = options.streamTimeout
                let request = DebugLogRequest(count: count ?? 10, level: level)
                group.addTask {
                    for try await batch in client.stream(service, "Debug.LogStream", request, of: LogBatch.self, options: nodeOptions) {
                        if batch.dropped > 0 { StandardStream.report("\(node.id): \(batch.dropped) records dropped (reading too slowly)") }
                        for record in batch.records { try print(record, node: node, many: nodes.nodes.count > 1) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func print(_ record: LogRecord, node: Node, many: Bool) throws {
        if json {
            let data = try JSONEncoder().encode(record)
            return try emit(String(decoding: data, as: UTF8.self))
        }
        let time = Date(timeIntervalSince1970: Double(record.time) / 1e9).formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        let meta = record.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        try emit("\(time) \(record.level.uppercased())\(many ? " [\(node.id)]" : "") \(record.label): \(record.message)\(meta.isEmpty ? "" : " " + meta)")
    }
}
