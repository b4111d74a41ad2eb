import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A command `micro sync` runs while it holds a lock: found on `PATH`, sharing this process's
/// standard streams, stopped with SIGTERM when the task running it is cancelled.
enum ChildCommand {
    /// Runs `command` with this process's environment plus `adding`; its exit status (128 plus the signal
    /// number when a signal ended it).
    static func run(_ command: [String], adding: [String: String]) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = ProcessInfo.processInfo.environment.merging(adding) { $1 }
        let (ended, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { finished in
            let status = finished.terminationStatus
            continuation.yield(finished.terminationReason == .uncaughtSignal ? 128 + status : status)
            continuation.finish()
        }
        try process.run()
        let pid = process.processIdentifier
        return await withTaskCancellationHandler {
            // Cancellation ends the wait too; the child's own end comes soon after its SIGTERM.
            var statuses = ended.makeAsyncIterator()
            return await statuses.next() ?? 143
        } onCancel: {
            kill(pid, SIGTERM)
        }
    }
}
