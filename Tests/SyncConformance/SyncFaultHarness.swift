import Foundation
import Glibc
import MicroCore
import MicroTestSupport

/// The multi-process lock fault tests, run against one engine by its test target: `SyncContender`
/// processes (Tests/SyncContender) contend for a lock, get killed with SIGKILL, or are stopped with
/// SIGSTOP past their TTL. Each throws a ``SyncConformanceFailure`` saying what went wrong.
public struct SyncFaultHarness: Sendable {
    /// The contender's engine argument (`sqlite`, `postgres`, `etcd`).
    public let engine: String
    /// Where the engine is, as the contender takes it.
    public let address: String
    /// This process's sync on the same engine.
    public let sync: any Sync
    /// This process's store on the same engine (the log the contenders write to with fenced writes).
    public let store: any Store
    /// The TTL the contenders hold locks with.
    public let ttl: Duration

    /// A harness for `engine` at `address`.
    public init(engine: String, address: String, sync: any Sync, store: any Store, ttl: Duration) {
        self.engine = engine
        self.address = address
        self.sync = sync
        self.store = store
        self.ttl = ttl
    }

    private var ttlMilliseconds: String { String(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000) }

    private func fail(_ message: String) -> SyncConformanceFailure {
        SyncConformanceFailure(description: "[\(engine)] \(message)")
    }

    private func logTokens() async throws -> [UInt64] {
        let record = try await store.scoped(StoreScope(database: "micro_fencing", table: "log")).read("log")
        return String(decoding: record?.value ?? [], as: UTF8.self).split(separator: "\n").compactMap { UInt64($0) }
    }

    /// `processes` contenders take the lock `name` over and over for `seconds`: in the events they log,
    /// holds never overlap and tokens strictly increase; the fenced log holds every token, increasing.
    /// Returns how many acquisitions there were.
    public func contend(name: String, processes: Int, seconds: Int, directory: URL) async throws -> Int {
        let executable = try Self.contenderExecutable()
        let events = directory.appendingPathComponent("events-\(name).log")
        let before = try await logTokens().count
        var children: [(SpawnedProcess, URL)] = []
        for i in 0..<processes {
            let out = directory.appendingPathComponent("contender-\(name)-\(i).out")
            children.append((try SpawnedProcess(executable, [engine, address, "contend", name, ttlMilliseconds, String(seconds), events.path], output: out), out))
        }
        for (child, out) in children {
            guard child.wait(timeout: .seconds(Int64(seconds) + 60)) else {
                for (c, _) in children { c.kill() }
                throw fail("a contender did not finish: \((try? String(contentsOf: out, encoding: .utf8)) ?? "")")
            }
            guard child.exitCode == 0 else { throw fail("a contender failed (\(String(describing: child.exitCode))): \((try? String(contentsOf: out, encoding: .utf8)) ?? "")") }
        }
        let lines = try String(contentsOf: events, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        var holding: (token: Substring, pid: Substring)?
        var last: UInt64 = 0
        var holds = 0
        for (n, line) in lines.enumerated() {
            guard line.count == 3, let token = UInt64(line[1]) else { throw fail("event line \(n) is \(line)") }
            if line[0] == "start" {
                if let holding { throw fail("line \(n): \(line[2]) started \(token) while \(holding.pid) held \(holding.token)") }
                guard token > last else { throw fail("line \(n): token \(token) after \(last)") }
                last = token
                holding = (line[1], line[2])
                holds += 1
            } else {
                guard let h = holding, h == (line[1], line[2]) else { throw fail("line \(n): \(line) ends a hold that is not the current one") }
                holding = nil
            }
        }
        let logged = Array(try await logTokens().dropFirst(before))
        guard logged == logged.sorted(), Set(logged).count == logged.count else { throw fail("the fenced log's tokens do not increase: \(logged)") }
        guard logged.count == holds else { throw fail("\(holds) holds but \(logged.count) fenced appends") }
        return holds
    }

    /// A holder killed with SIGKILL leaves its lock; it is free again within its TTL (plus a second of
    /// polling and engine slack), with a greater token. Returns how long after the kill it was taken.
    public func killedHolderFreesLock(name: String, directory: URL) async throws -> Duration {
        let out = directory.appendingPathComponent("holder-\(name).out")
        let child = try SpawnedProcess(try Self.contenderExecutable(), [engine, address, "hold", name, ttlMilliseconds], output: out)
        let held = try await Self.waitForLine("held ", in: out, child: child)
        child.kill()
        let killed = ContinuousClock.now
        let lease = try await sync.lock(name, ttl: ttl, wait: ttl + .seconds(1))
        let elapsed = ContinuousClock.now - killed
        try await lease.release()
        guard lease.token.value > held else { throw fail("token \(lease.token.value) after the killed holder's \(held)") }
        return elapsed
    }

    /// A holder stopped with SIGSTOP past its TTL loses the lock to another, whose fenced write lands;
    /// resumed, the stale holder's fenced write with its old token is refused.
    public func stoppedHolderIsFencedOff(name: String, directory: URL) async throws {
        let out = directory.appendingPathComponent("stale-\(name).out")
        let child = try SpawnedProcess(try Self.contenderExecutable(), [engine, address, "stale", name, ttlMilliseconds], output: out, holdingStdin: true)
        defer { if child.isRunning { child.kill() } }
        let held = try await Self.waitForLine("held ", in: out, child: child)
        child.signal(SIGSTOP)
        let lease = try await sync.lock(name, ttl: ttl, wait: ttl * 2 + .seconds(2))
        guard lease.token.value > held else { throw fail("token \(lease.token.value) after the stopped holder's \(held)") }
        let log = try store.scoped(StoreScope(database: "micro_fencing", table: "log"))
        let current = try await log.read("log")
        _ = try await log.write(StoreWrite(key: "log", value: (current?.value ?? []) + Array("\(lease.token.value)\n".utf8),
                                           condition: current.map { .ifRevision($0.revision) } ?? .ifAbsent), ifToken: lease.token)
        child.signal(SIGCONT)
        child.closeInput()
        guard child.wait(timeout: .seconds(30)) else { throw fail("the resumed holder did not finish") }
        let output = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let lines = output.split(separator: "\n")
        guard lines.contains(where: { $0.hasPrefix("refused ") }), !lines.contains("written") else {
            throw fail("the stale holder's write was not refused: \(output)")
        }
        guard lines.contains("lost") else { throw fail("the resumed holder's lease did not say it was lost: \(output)") }
        guard lease.isHeld else { throw fail("the new holder lost its lease") }
        try await lease.release()
        let tokens = try await logTokens()
        guard tokens.last == lease.token.value else { throw fail("the log ends with \(String(describing: tokens.last)), not the new holder's \(lease.token.value)") }
    }

    /// The first `prefix` line of the file `out` a child writes, as the number after it.
    public static func waitForLine(_ prefix: String, in out: URL, child: SpawnedProcess, timeout: Duration = .seconds(60)) async throws -> UInt64 {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }), let n = UInt64(line.dropFirst(prefix.count)) { return n }
            guard child.isRunning else { throw SyncConformanceFailure(description: "\(child.command) ended: \(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        child.kill()
        throw SyncConformanceFailure(description: "\(child.command) never printed \(prefix)")
    }

    /// The built `SyncContender`.
    public static func contenderExecutable() throws -> String {
        try builtExecutable("SyncContender")
    }
}
