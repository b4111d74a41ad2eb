import MicroCore

extension StoreCheck {
    static let concurrency: [StoreCheck] = [
        StoreCheck("concurrent read-modify-write with ifRevision loses no update") { c in
            let writers = 8, increments = 20
            try await c.store.write("counter", bytes: Array("0".utf8))
            let totals = try await withThrowingTaskGroup(of: (successes: Int, conflicts: Int).self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        var successes = 0, conflicts = 0
                        while successes < increments {
                            guard let record = try await c.store.read("counter"),
                                  let n = Int(String(decoding: record.value, as: UTF8.self)) else {
                                throw ConformanceFailure(description: "[\(c.backend)] counter unreadable")
                            }
                            await Task.yield()  // work between the read and the write, so writers interleave
                            do {
                                try await c.store.write("counter", bytes: Array(String(n + 1).utf8), condition: .ifRevision(record.revision))
                                successes += 1
                            } catch let error as StoreError where error.code == .conflict {
                                conflicts += 1
                            }
                            if conflicts > 100_000 { throw ConformanceFailure(description: "[\(c.backend)] no progress") }
                        }
                        return (successes, conflicts)
                    }
                }
                var sum = (successes: 0, conflicts: 0)
                for try await r in group { sum.successes += r.successes; sum.conflicts += r.conflicts }
                return sum
            }
            let final = try await c.store.read("counter").map { String(decoding: $0.value, as: UTF8.self) }
            try c.expectEqual(totals.successes, writers * increments, "successful conditional writes")
            try c.expectEqual(final, String(writers * increments), "counter after \(totals.successes) successful writes (\(totals.conflicts) conflicts)")
        },
        StoreCheck("concurrent ifAbsent creates: exactly one wins") { c in
            let contenders = 16
            let winners = try await withThrowingTaskGroup(of: Int?.self) { group in
                for i in 0..<contenders {
                    group.addTask {
                        do {
                            try await c.store.write("only", bytes: [UInt8(i)], condition: .ifAbsent)
                            return i
                        } catch let error as StoreError where error.code == .conflict {
                            return nil
                        }
                    }
                }
                var winners: [Int] = []
                for try await w in group { if let w { winners.append(w) } }
                return winners
            }
            try c.expectEqual(winners.count, 1, "writers that created the record")
            try c.expectEqual(try await c.store.read("only")?.value, winners.first.map { [UInt8($0)] }, "the stored value is the winner's")
        },
        StoreCheck("concurrent writes to different keys all land") { c in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<64 { group.addTask { try await c.store.write("key-\(i)", bytes: [UInt8(i)]) } }
                try await group.waitForAll()
            }
            let records = try await c.store.read(prefix: "key-")
            try c.expectEqual(records.count, 64, "records written concurrently")
            try c.expectEqual(Set(records.map(\.revision)).count, 64, "distinct revisions")
            for r in records { try c.expectEqual(r.value, UInt8(r.key.dropFirst(4)).map { [$0] }, "value of \(r.key)") }
        },
        StoreCheck("update retries on conflict until every change lands") { c in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        for _ in 0..<10 { try await c.store.update("tally", as: Int.self, maxAttempts: 10_000) { ($0 ?? 0) + 1 } }
                    }
                }
                try await group.waitForAll()
            }
            try c.expectEqual(try await c.store.read("tally", as: Int.self), 60, "tally after 60 updates")
        },
    ]
}
