import MicroCore

extension StoreCheck {
    static let fencing: [StoreCheck] = [
        StoreCheck("fenced writes: a token older than the last one written is refused, changing nothing") { c in
            let lock = "lock/orders"
            let old = FencingToken(lock: lock, value: 10), new = FencingToken(lock: lock, value: 20)
            let first = try await c.store.write(StoreWrite(key: "k", value: [1]), ifToken: old)
            try c.expectEqual(try await c.store.read("k")?.metadata[StoreWrite.fenceMetadata], "10 \(lock)", "the token is kept with the record")
            let again = try await c.store.write(StoreWrite(key: "k", value: [2], metadata: ["m": "x"]), ifToken: old)
            try c.expect(again > first, "the same token writes again")
            _ = try await c.store.write(StoreWrite(key: "k", value: [3]), ifToken: new)
            try await c.expectError(.conflict, "a stale token") { try await c.store.write(StoreWrite(key: "k", value: [4]), ifToken: old) }
            try await c.expectError(.conflict, "a stale token's delete") { try await c.store.delete("k", ifToken: old) }
            let record = try await c.store.read("k")
            try c.expectEqual(record?.value, [3], "the newer holder's value stays")
            // Another lock's token does not compare with this one's.
            _ = try await c.store.write(StoreWrite(key: "k", value: [5]), ifToken: FencingToken(lock: "lock/other", value: 1))
            try c.expectEqual(try await c.store.read("k")?.value, [5], "another lock's token writes")
            _ = try await c.store.write(StoreWrite(key: "k", value: [6]), ifToken: new)
            try c.expect(try await c.store.delete("k", ifToken: FencingToken(lock: lock, value: 21)), "a newer token deletes")
            try c.expect(try await c.store.delete("k", ifToken: new) == false, "nothing left to delete")
        },
        StoreCheck("fenced writes keep the write's own condition, and a fence that is not a token is malformed") { c in
            let token = FencingToken(lock: "lock/x", value: 5)
            let revision = try await c.store.write(StoreWrite(key: "k", value: [1], condition: .ifAbsent), ifToken: token)
            try await c.expectError(.conflict, "ifAbsent over a record") {
                try await c.store.write(StoreWrite(key: "k", value: [2], condition: .ifAbsent), ifToken: token)
            }
            try await c.expectError(.conflict, "a stale ifRevision") {
                try await c.store.write(StoreWrite(key: "k", value: [2], condition: .ifRevision(revision + 1)), ifToken: token)
            }
            _ = try await c.store.write(StoreWrite(key: "k", value: [3], condition: .ifRevision(revision)), ifToken: token)
            try c.expectEqual(try await c.store.read("k")?.value, [3], "ifRevision of the current revision writes")
            _ = try await c.store.write("bad", bytes: [1], metadata: [StoreWrite.fenceMetadata: "not a token"])
            try await c.expectError(.malformed, "a fence that is not a token") {
                try await c.store.write(StoreWrite(key: "bad", value: [2]), ifToken: token)
            }
        },
    ]
}
