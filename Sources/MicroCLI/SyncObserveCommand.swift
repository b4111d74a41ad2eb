import ArgumentParser
import Foundation
import Micro

/// `micro sync observe NAME`: prints the election's leader now and each change, one JSON line each,
/// until interrupted, `--count` lines or `--duration` seconds.
struct SyncObserveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observe",
        abstract: "Print an election's leader and every change as JSON lines ({\"leader\":NAME,\"holder\":null} when no one leads).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Election name.") var name: String
    @Option(help: "Exit after this many lines.") var count: Int?
    @Option(help: "Exit after this many seconds.") var duration: Double?

    func validate() throws {
        if let duration { try validateSeconds(duration, option: "--duration") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        try await runReporting {
            try await SyncHolding.withSync(global) { sync in
                let leader = try sync.leader(name)
                let (name, limit, duration) = (name, count, duration)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        var seen = 0
                        for try await holder in leader.observe() {
                            try emit(SyncHolding.json(["leader": name, "holder": holder?.holder ?? NSNull(), "term": holder?.token.value ?? NSNull()]))
                            seen += 1
                            if let limit, seen >= limit { return }
                        }
                    }
                    if let duration {
                        tasks.addTask { try await Task.sleep(for: .seconds(duration)) }
                    }
                    try await tasks.next()
                    tasks.cancelAll()
                }
                return Int32(0)
            }
        }
    }
}
