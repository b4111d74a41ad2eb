import ArgumentParser
import Foundation
import Micro

/// `micro describe SERVICE`: versions, nodes, endpoints and their shapes, as JSON.
struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a service's nodes, endpoints and message shapes.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String

    func run() async throws {
        try await runReporting {
            let records = try await global.withEngines { registry, _ in try await registry.getService(service) }
            guard !records.isEmpty else { throw MicroError.notFound("go.micro.client", "service \(service): not found") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try emit(String(decoding: try encoder.encode(records), as: UTF8.self))
        }
    }
}
