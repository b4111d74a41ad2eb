import ArgumentParser
import Micro
import MicroRuntime

/// `micro logs NAME [-f]`: the output of a service the runtime runs (its stdout and stderr, and the
/// runtime's notes: builds with their compiler errors, starts, crashes, restarts), from its log files.
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a runtime service's logs (its output, builds and restarts).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var runtime: RuntimeCallOptions
    @Argument(help: "The service's name.") var name: String
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing lines as they are written.") var follow = false
    @Option(name: [.short, .customLong("lines")], help: "How many of the last lines to print first (default 100).") var lines: Int = 100

    func validate() throws {
        guard (0...Int(RuntimeHandler.maxLogLines)).contains(lines) else { throw ValidationError("--lines is 0 to \(RuntimeHandler.maxLogLines)") }
    }

    func run() async throws {
        try await runReporting {
            try await runtime.withRuntime(global) { client in
                try await client.logs(name, count: lines, follow: follow) { try emit($0) }
            }
        }
    }
}
