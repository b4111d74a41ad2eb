import ArgumentParser
import Micro
import MicroRuntime

/// `micro update NAME`: pulls and rebuilds a runtime service, starts the new instance and stops the old
/// one only once the new one is healthy.
struct Update: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rebuild a runtime service and replace it without downtime.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var runtime: RuntimeCallOptions
    @Argument(help: "The service's name.") var name: String

    func run() async throws {
        try await runReporting {
            try await runtime.withRuntime(global) { try await $0.update(name, timeout: seconds(global.timeout ?? 1800)) }
            try emit("updated \(name)")
        }
    }
}
