import ArgumentParser
import Foundation
import Micro
import MicroRuntime

/// `micro run SOURCE[@REF]`: asks the runtime to fetch, build and run a service and, through its
/// `micro.yaml`, its dependencies; waits until they run (or one fails, exit 1) unless `--detach`.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a service from a git URL, a package directory or an executable, with its dependencies.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var runtime: RuntimeCallOptions
    @Argument(help: "https://…, file://…, git://… or a local path, with an optional @REF (branch, tag or commit).") var source: String
    @Option(help: "Run it under this name (default: its micro.yaml's name, its product's, or the source's last component).") var name: String?
    @Flag(help: "Return once the runtime accepted it, without waiting for it to run.") var detach = false
    @Flag(help: "Run it (and its dependencies) in podman containers: a static build in an OCI image (default: each micro.yaml's runtime, else a process).") var container = false
    @Flag(help: "Run it (and its dependencies) on Kubernetes: a static build in an OCI image pushed to the runtime's registry, run as a Deployment and a Service.") var kubernetes = false
    @Option(help: "Seconds to wait for the services to run (builds included; default 1800).") var wait: Double = 1800

    func validate() throws {
        if container && kubernetes { throw ValidationError("--container and --kubernetes exclude each other") }
    }

    func run() async throws {
        try await runReporting {
            try validateSeconds(wait, option: "--wait")
            let parsed = try RuntimeSource(parsing: source)   // relative paths from here; a bad source fails before any call
            try await runtime.withRuntime(global) { client in
                let names = try await client.create(source: parsed.description, name: name, kind: container ? .container : kubernetes ? .kubernetes : nil, timeout: seconds(global.timeout ?? 300))
                try emit("starting \(names.joined(separator: ", "))")
                guard !detach else { return }
                let deadline = ContinuousClock.now + seconds(wait)
                var reported: Set<String> = []
                while true {
                    let services = try await client.list().filter { names.contains($0.name) }
                    for service in services where !reported.contains(service.name) {
                        switch service.state.status {
                        case .running:
                            reported.insert(service.name)
                            let instance = service.cluster != nil ? Ps.instance(service)
                                : service.state.container.map { "container \($0.prefix(12))" } ?? "pid \(service.state.pid.map(String.init) ?? "-")"
                            try emit("\(service.name) running (\(instance))")
                        case .failed:
                            throw RuntimeError(.startFailed, "\(service.name) failed: \(service.state.error ?? "")")
                        default: break
                        }
                    }
                    if reported.count == names.count { return }
                    guard ContinuousClock.now < deadline else {
                        throw RuntimeError(.unhealthy, "not running after \(wait) s: \(names.filter { !reported.contains($0) }.joined(separator: ", ")) (see `micro ps`)")
                    }
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
        }
    }
}
