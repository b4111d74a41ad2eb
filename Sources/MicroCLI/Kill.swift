import ArgumentParser
import Micro
import MicroRuntime

/// `micro kill NAME`: stops a runtime service (SIGTERM, SIGKILL after the grace period) and removes it.
struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a service the runtime runs and remove it.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var runtime: RuntimeCallOptions
    @Argument(help: "The service's name.") var name: String

    func run() async throws {
        try await runReporting {
            try await runtime.withRuntime(global) { try await $0.delete(name, timeout: seconds(global.timeout ?? 60)) }
            try emit("stopped \(name)")
        }
    }
}
