import MicroCore

extension SyncCheck {
    static let expiry: [SyncCheck] = [
        SyncCheck("an unrenewed grant frees the lock after its TTL; renewing it then is refused as lost") { c in
            let key = "lock/" + c.name("expire")
            let start = ContinuousClock.now
            guard let grant = try await c.sync.acquire(key, holder: "gone", ttl: c.shortTTL) else {
                throw SyncConformanceFailure(description: "[\(c.backend)] a free lock was refused")
            }
            let early = try await c.sync.acquire(key, holder: "next", ttl: c.shortTTL)
            // (Unless the machine was so slow that the TTL had passed already.)
            try c.expect(early == nil || ContinuousClock.now - start >= c.shortTTL, "held until its TTL")
            if let early { try await c.sync.release(early) }
            let next = try await c.acquireEventually(key, holder: "next", ttl: .seconds(10), within: c.shortTTL * 2 + .seconds(2))
            guard let next else { throw SyncConformanceFailure(description: "[\(c.backend)] the lock never expired") }
            try c.expect(next.token > grant.token, "the next token \(next.token) is greater than the expired \(grant.token)")
            try await c.expectError(.lost, "renewing the expired grant") { try await c.sync.renew(grant) }
            // Releasing a stale grant leaves the new holder alone.
            try await c.sync.release(grant)
            let holder = try await c.sync.holder(of: key)
            try c.expect(holder?.holder == "next" && holder?.token == next.token, "the new holder stays: \(String(describing: holder))")
            try await c.sync.release(next)
        },
        SyncCheck("a lease whose grant is taken away signals the loss at once, and withLock cancels its body") { c in
            let name = c.name("lose")
            let lease = try await c.sync.lock(name, ttl: c.shortTTL)
            // Someone (an operator, a partition that outlived the TTL) removes the grant behind the lease.
            try await c.sync.release(lease.grant)
            let lost = await lease.lost()
            try c.expect(lost?.code == .lost && !lease.isHeld, "the lease reports the loss: \(String(describing: lost))")

            let started = ContinuousClock.now
            try await c.expectError(.lost, "withLock whose lease is taken") {
                try await c.sync.withLock(c.name("lose2"), ttl: c.shortTTL) { lease in
                    try await c.sync.release(lease.grant)
                    try await Task.sleep(for: .seconds(60))
                    return 1
                }
            }
            try c.expect(ContinuousClock.now - started < .seconds(30), "the body was cancelled, not waited out")
        },
    ]
}
