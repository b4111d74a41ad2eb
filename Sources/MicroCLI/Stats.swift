import ArgumentParser
import Foundation
import Micro

/// `micro stats SERVICE [--watch]`: each node's `Debug.Stats` — uptime, memory, CPU time, threads,
/// open files, calls, errors, in flight, connections — once, or again every `--interval` seconds.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the resource use and call counts of every node of a service.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String
    @Flag(help: "Print again every --interval seconds, until interrupted.") var watch = false
    @Option(help: "Seconds between prints with --watch (default 2).") var interval: Double = 2
    @Flag(help: "Print each node's stats as JSON.") var json = false

    func validate() throws {
        try validateSeconds(interval, option: "--interval")
    }

    func run() async throws {
        try await runReporting {
            try await global.withClient { client in
                repeat {
                    let nodes = try await DebugNodes(service, client: client, options: global.callOptions)
                    for node in nodes.nodes {
                        do {
                            let stats: DebugStats = try await client.call(service, "Debug.Stats", DebugStatsRequest(), options: nodes.options(for: node))
                            try emit(json ? String(decoding: try JSONEncoder().encode(stats), as: UTF8.self) : line(node, stats))
                        } catch let e as StandardStreamError {
                            throw e
                        } catch {
                            try emit("\(node.id) \(node.address) error: \(MicroError.from(error, id: "go.micro.client").detail)")
                        }
                    }
                    if watch { try await Task.sleep(for: .milliseconds(Int64(interval * 1000))) }
                } while watch
            }
        }
    }

    private func line(_ node: Node, _ s: DebugStats) -> String {
        let mib = Double(s.memory) / 1_048_576
        var text = "\(node.id) \(node.address) uptime=\(Int(s.uptime))s memory=\(String(format: "%.1f", mib))MiB"
            + " cpu=\(String(format: "%.2f", s.cpuUser))s+\(String(format: "%.2f", s.cpuSystem))s threads=\(s.threads) fds=\(s.openFiles)"
            + " requests=\(s.requests) errors=\(s.errors) inflight=\(s.inFlight)"
        if let c = s.connections { text += " connections=\(c)" }
        for e in s.endpoints where !e.endpoint.hasPrefix("Debug.") {
            text += "\n  \(e.endpoint) requests=\(e.requests) errors=\(e.errors) inflight=\(e.inFlight)"
        }
        return text
    }
}
