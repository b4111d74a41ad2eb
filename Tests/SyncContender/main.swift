// Test helper for the multi-process lock and leader fault tests: one contender process.
//
//   SyncContender <engine> <address> <mode> <name> <ttl-ms> [mode arguments]
//
// engine: sqlite (address: a directory), postgres (a URL) or etcd (members). Locks come from the
// engine's sync; fenced writes go to the same engine's store, record `log` of micro_fencing/log, whose
// value is the tokens written so far, one a line. Every line printed is written at once (unbuffered).
//
// modes:
//   contend <seconds> <events-file>: until the time is up, take the lock, append `start <token> <pid>`
//     to the events file, append the token to the log by a fenced write, append `end <token> <pid>`,
//     release; prints `done <count>`.
//   hold: take the lock, print `held <token>`, then keep it (renewing) until killed or 60 s pass.
//   stale: take the lock, print `held <token>`, wait for the end of standard input (the test stops the
//     process meanwhile, past the TTL), then append to the log with the token anyway: prints `lost` if
//     the lease says it was lost, then `written` or `refused <detail>`.
//   lead <seconds> <events-file>: campaign until the time is up; each term appends `lead <term> <pid>`,
//     and `end <term> <pid> <reason>` when it ends (lost, or resigned after up to 1.5 s).
import Foundation
import MicroCore
import MicroEtcd
import MicroPostgres
import MicroSQLite

func say(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

func append(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
    guard fd >= 0 else { return }
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

let arguments = CommandLine.arguments
guard arguments.count >= 6, let ttlMilliseconds = Int64(arguments[5]) else {
    FileHandle.standardError.write(Data("usage: SyncContender <sqlite|postgres|etcd> <address> <mode> <name> <ttl-ms> [...]\n".utf8))
    exit(2)
}
let (engine, address, mode, name) = (arguments[1], arguments[2], arguments[3], arguments[4])
let ttl = Duration.milliseconds(ttlMilliseconds)
let pid = getpid()

let sync: any Sync
let store: any Store
switch engine {
case "sqlite":
    store = SQLiteStore(directory: address)
    sync = StoreSync(store: store)
case "postgres":
    store = try PostgresStore(url: address)
    sync = StoreSync(store: store)
case "etcd":
    let etcd = try EtcdSync(addresses: address)
    sync = etcd
    store = EtcdStore(client: etcd.client)
default:
    FileHandle.standardError.write(Data("unknown engine \(engine)\n".utf8))
    exit(2)
}
let log = try store.scoped(StoreScope(database: "micro_fencing", table: "log"))

/// Appends `token` to the log record with a fenced write.
@Sendable func appendToLog(_ token: FencingToken) async throws {
    let current = try await log.read("log")
    let value = (current?.value ?? []) + Array("\(token.value)\n".utf8)
    _ = try await log.write(StoreWrite(key: "log", value: value, condition: current.map { .ifRevision($0.revision) } ?? .ifAbsent), ifToken: token)
}

switch mode {
case "contend":
    let deadline = ContinuousClock.now + .seconds(Int64(arguments[6]) ?? 5)
    let events = arguments[7]
    var count = 0
    while ContinuousClock.now < deadline {
        do {
            try await sync.withLock(name, ttl: ttl, wait: deadline - ContinuousClock.now) { lease in
                append(events, "start \(lease.token.value) \(pid)")
                try await appendToLog(lease.token)
                try await Task.sleep(for: .milliseconds(Int64.random(in: 1...10)))
                append(events, "end \(lease.token.value) \(pid)")
            }
            count += 1
        } catch let error as SyncError where error.code == .timeout {
            break
        }
    }
    say("done \(count)")
case "hold":
    let lease = try await sync.lock(name, ttl: ttl)
    say("held \(lease.token.value)")
    try? await Task.sleep(for: .seconds(60))
    try? await lease.release()
case "stale":
    let lease = try await sync.lock(name, ttl: ttl)
    say("held \(lease.token.value)")
    _ = FileHandle.standardInput.readDataToEndOfFile()
    // Give the renewal a moment to notice the time that passed while stopped.
    try? await Task.sleep(for: .milliseconds(50))
    if !lease.isHeld { say("lost") }
    do {
        try await appendToLog(lease.token)
        say("written")
    } catch let error as StoreError where error.code == .conflict {
        say("refused \(error.detail)")
    }
case "lead":
    let deadline = ContinuousClock.now + .seconds(Int64(arguments[6]) ?? 5)
    let events = arguments[7]
    let election = try sync.leader(name)
    while ContinuousClock.now < deadline {
        let term: Leadership
        do {
            term = try await election.campaign(ttl: ttl, wait: deadline - ContinuousClock.now, holder: "contender-\(pid)")
        } catch let error as SyncError where error.code == .timeout {
            break
        } catch let error as SyncError where error.code == .unavailable {
            try await Task.sleep(for: .milliseconds(100))   // the cluster is electing; try again
            continue
        }
        append(events, "lead \(term.term.value) \(pid)")
        let reason = await withTaskGroup(of: String?.self) { group in
            group.addTask { await term.lost().map { "lost:\($0.detail)" } }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int64.random(in: 500...1500)))
                return Task.isCancelled ? nil : "resigned"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? "resigned"
        }
        // Say so before giving the term up, so no later term's line can come first.
        append(events, "end \(term.term.value) \(pid) \(reason.replacingOccurrences(of: " ", with: "_"))")
        try? await term.resign()
        try await Task.sleep(for: .milliseconds(Int64.random(in: 10...100)))
    }
    say("done")
default:
    FileHandle.standardError.write(Data("unknown mode \(mode)\n".utf8))
    exit(2)
}
await sync.shutdown()
await store.shutdown()
