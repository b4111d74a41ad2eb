import MicroCore

extension SyncCheck {
    static let leaders: [SyncCheck] = [
        SyncCheck("one leader at a time; resigning lets the next campaign win a greater term; observe follows") { c in
            let election = try c.sync.leader(c.name("election"))
            var changes = election.observe(every: .milliseconds(20)).makeAsyncIterator()
            let initial = try await changes.next()
            try c.expect(initial == .some(nil), "no one leads at first: \(String(describing: initial))")
            let first = try await election.campaign(ttl: .seconds(10), holder: "node-1")
            try c.expect(first.isLeader, "the first campaign leads")
            try await c.expectError(.timeout, "a second campaign while one leads") {
                try await election.campaign(ttl: .seconds(10), wait: .milliseconds(100), holder: "node-2")
            }
            let seen = try await changes.next()
            try c.expect(seen == .some(LockHolder(holder: "node-1", token: first.term)), "observe sees node-1: \(String(describing: seen))")
            try c.expect(try await election.current()?.holder == "node-1", "current is node-1")
            async let second = election.campaign(ttl: .seconds(10), wait: .seconds(10), holder: "node-2")
            try await Task.sleep(for: .milliseconds(100))
            try await first.resign()
            let next = try await second
            try c.expect(next.term > first.term, "the next term \(next.term) is greater than \(first.term)")
            var after = try await changes.next()
            if after == .some(nil) { after = try await changes.next() }
            try c.expect(after == .some(LockHolder(holder: "node-2", token: next.term)), "observe sees node-2: \(String(describing: after))")
            try c.expect(first.term.lock == "leader/\(election.name)", "a term's token names the election")
            // A lock of the same name is another thing.
            let lock = try await c.sync.lock(election.name, ttl: .seconds(10), wait: .zero)
            try await lock.release()
            try await next.resign()
        },
    ]
}
