import ArgumentParser
import Foundation
import Micro
import MicroRuntime

/// `micro ps`: the runtime's services: name, version, source, runtime, pid (or container id, or
/// Kubernetes Deployment with its ready replicas), status, restarts, uptime; a failed one's error on the
/// lines below it (a compiler's errors, a crash loop, the API server's refusal).
struct Ps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the services the runtime runs.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var runtime: RuntimeCallOptions

    func run() async throws {
        try await runReporting {
            let services = try await runtime.withRuntime(global) { try await $0.list() }
            let header = ["NAME", "VERSION", "SOURCE", "RUNTIME", "PID/CONTAINER/DEPLOYMENT", "STATUS", "RESTARTS", "UPTIME"]
            let now = Date()
            let rows = services.map { s -> [String] in
                return [s.name, s.version, s.source, s.runtime, Self.instance(s), s.state.status.description,
                        String(s.state.restarts), s.uptime(now: now).map(Self.duration) ?? "-"]
            }
            let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces)
            }
            try emit(line(header))
            for (service, row) in zip(services, rows) {
                try emit(line(row))
                if let error = service.state.error {
                    for errorLine in error.split(separator: "\n").prefix(20) { try emit("  \(errorLine)") }
                }
            }
        }
    }

    /// What runs a service: `pid 123`, `container 0123456789ab`, or `deployment/NAME 2/2 ready` (its namespace after `@`).
    static func instance(_ service: RuntimeServiceStatus) -> String {
        if let cluster = service.cluster {
            return "\(cluster.object)@\(cluster.namespace) \(cluster.readyReplicas)/\(cluster.replicas) ready"
        }
        return service.state.container.map { String($0.prefix(12)) } ?? service.state.pid.map(String.init) ?? "-"
    }

    /// `1h2m`, `3m4s`, `5s`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s >= 3600 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        if s >= 60 { return "\(s / 60)m\(s % 60)s" }
        return "\(s)s"
    }
}
