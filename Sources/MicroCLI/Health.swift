import ArgumentParser
import Micro

/// `micro health SERVICE`: asks every node `Debug.Health`; exits non-zero unless all answer ok.
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the health of every node of a service.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String

    func run() async throws {
        let healthy = try await runReporting { () async throws -> Bool in
            try await global.withClient { client in
                var healthy = true
                let records = try await client.selector.cache.getService(service)
                let nodes = records.flatMap(\.nodes)
                guard !nodes.isEmpty else { throw MicroError.notFound("go.micro.client", "service \(service): not found") }
                for node in nodes {
                    var options = global.callOptions
                    // This very node, over whichever transport it speaks (HTTP address or NATS subject).
                    options.filters.append(.node(node.id))
                    options.retries = 0
                    let status: String
                    do {
                        status = try await client.call(service, "Debug.Health", [String: String](), as: HealthResponse.self, options: options).status
                    } catch {
                        status = "error: \(MicroError.from(error, id: "go.micro.client").detail)"
                    }
                    if status != "ok" { healthy = false }
                    try emit("\(node.id) \(node.address) \(status)")
                }
                return healthy
            }
        }
        if !healthy { throw ExitCode(1) }
    }
}
