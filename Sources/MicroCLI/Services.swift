import ArgumentParser
import Micro

/// `micro services`: the names of every registered service.
struct Services: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List registered services.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await runReporting {
            let names = try await global.withEngines { registry, _ in Set(try await registry.listServices().map(\.name)).sorted() }
            for n in names { try emit(n) }
        }
    }
}
