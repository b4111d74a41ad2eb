import Foundation
import MicroCore

extension StoreCheck {
    static let expiry: [StoreCheck] = [
        StoreCheck("a record past its TTL is never returned, listed or matched by a condition") { c in
            let before = StoreClock.nowMilliseconds()
            // 1.5 s: four durable writes (an fsync each) and two reads fit in it on a loaded machine.
            let shortRevision = try await c.store.write("short", bytes: [1], ttl: .milliseconds(1500))
            try await c.store.write("p/short", bytes: [1], ttl: .milliseconds(1500))
            try await c.store.write("long", bytes: [2], ttl: .seconds(600))
            try await c.store.write("forever", bytes: [3])
            let after = StoreClock.nowMilliseconds()

            let short = try await c.store.read("short")
            try c.expect(short != nil, "a record is there before its TTL passes")
            let expiry = short!.expiry.map(StoreClock.milliseconds)
            try c.expect(expiry != nil && expiry! >= before + 1500 && expiry! <= after + 1501,
                         "expiry \(String(describing: expiry)) is the write time plus 1500 ms (written between \(before) and \(after))")
            let long = try await c.store.read("long")?.expiry.map(StoreClock.milliseconds)
            try c.expect(long != nil && long! >= before + 600_000 && long! <= after + 600_001, "expiry of a 600 s TTL: \(String(describing: long))")
            let listed = try await c.store.list()
            if StoreClock.nowMilliseconds() < expiry! {   // (a machine too slow to list within 1.5 s cannot check this)
                try c.expectKeys(listed, ["forever", "long", "p/short", "short"], "all four listed while live")
            }

            // Past the expiry (plus a margin for clock granularity) the records are gone at once, not eventually.
            let pShort = try await c.store.read("p/short")?.expiry.map(StoreClock.milliseconds) ?? expiry!
            let deadline = max(expiry!, pShort) + 30
            while StoreClock.nowMilliseconds() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try c.expect(try await c.store.read("short") == nil, "read by key after the TTL")
            try c.expectKeys(try await c.store.read().map(\.key), ["forever", "long"], "read of every record after the TTL")
            try c.expectKeys(try await c.store.list(), ["forever", "long"], "list after the TTL")
            try c.expectKeys(try await c.store.list(prefix: "p/"), [], "prefix read after the TTL")
            try c.expectKeys(try await c.store.list(suffix: "short"), [], "suffix read after the TTL")
            try c.expectKeys(try await c.store.list(limit: 1, offset: 1), ["long"], "expired records do not count toward the offset")

            try await c.expectError(.conflict, "ifRevision of an expired record") {
                try await c.store.write("short", bytes: [9], condition: .ifRevision(shortRevision))
            }
            try await c.expectError(.conflict, "delete ifRevision of an expired record") {
                try await c.store.delete("short", ifRevision: shortRevision)
            }
            try c.expect(try await c.store.delete("p/short") == false, "delete of an expired record is false")
            let again = try await c.store.write("short", bytes: [4], condition: .ifAbsent)
            try c.expect(again > shortRevision, "ifAbsent over an expired record writes, with a higher revision")
            let record = try await c.store.read("short")
            try c.expectEqual(record?.value, [4], "the new value")
            try c.expectEqual(record?.expiry, nil, "the new record has no expiry")
        },
        StoreCheck("a write replaces the expiry: removed without TTL, shortened with one") { c in
            try await c.store.write("kept", bytes: [1], ttl: .milliseconds(300))
            try await c.store.write("kept", bytes: [2])
            try await c.store.write("cut", bytes: [1], ttl: .seconds(600))
            let cut = try await c.store.write("cut", bytes: [2], ttl: .milliseconds(300))
            try c.expectEqual(try await c.store.read("kept")?.expiry, nil, "rewritten without TTL: no expiry")
            let expiry = try await c.store.read("cut")?.expiry.map(StoreClock.milliseconds)
            try c.expect(expiry != nil && expiry! < StoreClock.nowMilliseconds() + 1000, "rewritten with a short TTL: \(String(describing: expiry))")
            while StoreClock.nowMilliseconds() < expiry! + 30 { try await Task.sleep(for: .milliseconds(20)) }
            try c.expectEqual(try await c.store.read("kept")?.value, [2], "the record rewritten without TTL stays")
            try c.expect(try await c.store.read("cut") == nil, "the record rewritten with a short TTL expired (revision \(cut))")
            try c.expectKeys(try await c.store.list(), ["kept"], "list")
        },
    ]
}
