import MicroCore

extension SyncCheck {
    static let validation: [SyncCheck] = [
        SyncCheck("bad names, TTLs, waits and holders fail with typed errors, touching nothing") { c in
            for bad in ["", "a/b", ".a", "a.", "a..b", "a b", "é", "a\u{0}b", String(repeating: "x", count: SyncName.maxLength + 1)] {
                try await c.expectError(.invalidName, "lock '\(bad.debugDescription)'") { try await c.sync.lock(bad, ttl: .seconds(1)) }
                try await c.expectError(.invalidName, "leader '\(bad.debugDescription)'") { try c.sync.leader(bad) }
            }
            try await c.expectError(.invalidName, "acquire of a key not made by the core") { try await c.sync.acquire("x/y", holder: "h", ttl: .seconds(1)) }
            try await c.expectError(.invalidName, "holder of a bad key") { try await c.sync.holder(of: "lock/") }
            let name = c.name("valid")
            for ttl in [Duration.zero, .seconds(-1), .milliseconds(-1), SyncName.maxTTL + .seconds(1)] {
                try await c.expectError(.invalidTTL, "TTL \(ttl)") { try await c.sync.lock(name, ttl: ttl) }
                try await c.expectError(.invalidTTL, "campaign TTL \(ttl)") { try await c.sync.leader(name).campaign(ttl: ttl) }
            }
            try await c.expectError(.invalidArgument, "a negative wait") { try await c.sync.lock(name, ttl: .seconds(1), wait: .seconds(-1)) }
            for holder in ["", "a\u{0}", String(repeating: "h", count: SyncName.maxHolderLength + 1)] {
                try await c.expectError(.invalidArgument, "holder of \(holder.utf8.count) bytes") { try await c.sync.lock(name, ttl: .seconds(1), holder: holder) }
            }
            try c.expect(try await c.sync.holder(of: "lock/\(name)") == nil, "nothing was taken")
            let ok = try await c.sync.lock(String(repeating: "n", count: SyncName.maxLength), ttl: .seconds(5), wait: .zero)
            try await ok.release()
        },
    ]
}
