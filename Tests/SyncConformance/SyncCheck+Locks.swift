import MicroCore
import NIOConcurrencyHelpers

extension SyncCheck {
    static let locks: [SyncCheck] = [
        SyncCheck("a held lock is refused to others; released, it is free again with a greater token") { c in
            let name = c.name("basic")
            let first = try await c.sync.lock(name, ttl: .seconds(10), holder: "one")
            try c.expect(first.isHeld && first.token.lock == "lock/\(name)", "the lease is held, its token names the lock: \(first.token)")
            try await c.expectError(.timeout, "a second lock without waiting") { try await c.sync.lock(name, ttl: .seconds(10), wait: .zero, holder: "two") }
            try await c.expectError(.timeout, "a second lock waiting 300 ms") {
                try await c.sync.lock(name, ttl: .seconds(10), wait: .milliseconds(300), holder: "two")
            }
            let holder = try await c.sync.holder(of: "lock/\(name)")
            try c.expect(holder == LockHolder(holder: "one", token: first.token), "the holder is the first: \(String(describing: holder))")
            try await first.release()
            try c.expect(!first.isHeld, "a released lease is not held")
            let lost = await first.lost()
            try c.expect(lost == nil, "a released lease reports no loss: \(String(describing: lost))")
            try c.expect(try await c.sync.holder(of: "lock/\(name)") == nil, "no one holds a released lock")
            let second = try await c.sync.lock(name, ttl: .seconds(10), wait: .zero, holder: "two")
            try c.expect(second.token > first.token, "the second token \(second.token) is greater than the first \(first.token)")
            try await second.release()
        },
        SyncCheck("tokens strictly increase over many acquisitions, and other locks do not interfere") { c in
            var last: UInt64 = 0
            let other = try await c.sync.lock(c.name("other"), ttl: .seconds(10), wait: .zero)
            for _ in 0..<20 {
                let lease = try await c.sync.lock(c.name("seq"), ttl: .seconds(10), wait: .zero)
                try c.expect(lease.token.value > last, "token \(lease.token.value) after \(last)")
                last = lease.token.value
                try await lease.release()
            }
            try c.expect(other.isHeld, "a lock of another name stays held")
            try await other.release()
        },
        SyncCheck("a waiter gets the lock when the holder releases it") { c in
            let name = c.name("wait")
            let first = try await c.sync.lock(name, ttl: .seconds(10))
            async let second = c.sync.lock(name, ttl: .seconds(10), wait: .seconds(10), holder: "waiter")
            try await Task.sleep(for: .milliseconds(200))
            try await first.release()
            let lease = try await second
            try c.expect(lease.holder == "waiter" && lease.token > first.token, "the waiter holds it with a greater token")
            try await lease.release()
        },
        SyncCheck("withLock excludes: concurrent bodies never overlap, and it returns the body's result") { c in
            let name = c.name("mutex")
            let inside = NIOLockedValueBox((now: 0, most: 0, tokens: [UInt64]()))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        for _ in 0..<4 {
                            let n: Int = try await c.sync.withLock(name, ttl: .seconds(10), wait: .seconds(60)) { lease in
                                inside.withLockedValue { $0.now += 1; $0.most = max($0.most, $0.now); $0.tokens.append(lease.token.value) }
                                try await Task.sleep(for: .milliseconds(5))
                                inside.withLockedValue { $0.now -= 1 }
                                return 7
                            }
                            try c.expect(n == 7, "withLock returns the body's result")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let (most, tokens) = inside.withLockedValue { ($0.most, $0.tokens) }
            try c.expect(most == 1, "at most one body at a time, saw \(most)")
            try c.expect(tokens == tokens.sorted() && Set(tokens).count == tokens.count, "tokens in acquisition order strictly increase: \(tokens)")
        },
        SyncCheck("a lease renews itself past its TTL while held") { c in
            let name = c.name("renew")
            let lease = try await c.sync.lock(name, ttl: c.shortTTL)
            try await Task.sleep(for: c.shortTTL * 3)
            let loss = lease.isHeld ? nil : await lease.lost()
            try c.expect(lease.isHeld, "the lease is held after three TTLs; lost: \(String(describing: loss))")
            let grant = try await c.sync.acquire("lock/\(name)", holder: "other", ttl: c.shortTTL)
            try c.expect(grant == nil, "no one else can take it")
            try await lease.release()
        },
    ]
}
