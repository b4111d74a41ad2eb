import ArgumentParser
import Foundation
import Micro
import UnixSignals

/// How `micro sync` commands open their engine and hold a lease: until SIGINT or SIGTERM, until a
/// command run meanwhile ends, or until the lease is lost.
enum SyncHolding {
    /// Runs `body` with the sync `MICRO_SYNC` names, shut down afterwards; a status other than 0 that
    /// `body` returns becomes the command's exit status.
    static func withSync(_ global: GlobalOptions, _ body: (any Sync) async throws -> Int32) async throws {
        let sync = try GlobalOptions.engines.makeSync(EngineContext(environment: global.environment))
        let status: Int32
        do { status = try await body(sync) } catch {
            await sync.shutdown()
            throw error
        }
        await sync.shutdown()
        if status != 0 { throw ExitCode(status) }
    }

    /// One JSON line, keys sorted.
    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    private enum Outcome: Sendable {
        case interrupted
        case ended(SyncError?)
        case exited(Int32)
    }

    /// Holds `lease` until SIGINT or SIGTERM (then releases it: status 0), or while `command` runs (then
    /// releases it: the command's status). A lost lease stops the command and throws the loss.
    static func hold(_ lease: LockLease, running command: [String]) async throws -> Int32 {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let environment = ["MICRO_SYNC_TOKEN": String(lease.token.value), "MICRO_SYNC_HOLDER": lease.holder]
        let outcome = try await withThrowingTaskGroup(of: Outcome.self) { tasks in
            tasks.addTask {
                for await _ in signals { return .interrupted }
                return .interrupted
            }
            tasks.addTask { .ended(await lease.lost()) }
            if !command.isEmpty {
                tasks.addTask { .exited(try await ChildCommand.run(command, adding: environment)) }
            }
            defer { tasks.cancelAll() }
            return try await tasks.next() ?? .interrupted
        }
        switch outcome {
        case .ended(let loss):
            throw loss ?? SyncError(.lost, "\(lease.name) was released")
        case .interrupted:
            try await lease.release()
            return 0
        case .exited(let status):
            try await lease.release()
            return status
        }
    }
}
