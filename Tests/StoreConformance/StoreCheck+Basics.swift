import Foundation
import MicroCore

extension StoreCheck {
    static let basics: [StoreCheck] = [
        StoreCheck("write then read returns every field") { c in
            let value = (0...255).map { UInt8($0) }
            let metadata = ["content-type": "application/octet-stream", "quote\"back\\slash": "line\nbreak\ttab", "ü": "é日本😀", "": ""]
            let revision = try await c.store.write("alpha", bytes: value, metadata: metadata)
            try c.expect(revision > 0, "revision \(revision) is positive")
            let record = try await c.store.read("alpha")
            try c.expect(record != nil, "written record is read back")
            try c.expectKeys([record!.key], ["alpha"], "key")
            try c.expectEqual(record!.value, value, "value")
            try c.expectEqual(record!.metadata, metadata, "metadata")
            try c.expectEqual(record!.expiry, nil, "expiry of a record written without TTL")
            try c.expectEqual(record!.revision, revision, "revision read back")
            try await c.store.write("empty", bytes: [])
            try c.expectEqual(try await c.store.read("empty")?.value, [], "an empty value")
            try c.expectEqual(try await c.store.read("empty")?.metadata, [:], "no metadata")
            try c.expect(try await c.store.read("missing") == nil, "a key never written reads as nil")
        },
        StoreCheck("revisions increase on every write and are not reused after delete") { c in
            let first = try await c.store.write("k", bytes: [1])
            let second = try await c.store.write("k", bytes: [2])
            try c.expect(second > first, "second write's revision \(second) > first's \(first)")
            try c.expectEqual(try await c.store.read("k")?.revision, second, "read sees the latest revision")
            try c.expectEqual(try await c.store.read("k")?.value, [2], "read sees the latest value")
            try await c.store.write("other", bytes: [9])
            try c.expect(try await c.store.delete("k"), "delete of a live record is true")
            try c.expect(try await c.store.read("k") == nil, "deleted record is gone")
            let third = try await c.store.write("k", bytes: [3])
            try c.expect(third > second, "a recreated record's revision \(third) > the deleted one's \(second)")
            try await c.expectError(.conflict, "a revision from before the delete") {
                try await c.store.write("k", bytes: [4], condition: .ifRevision(second))
            }
            try c.expectEqual(try await c.store.read("k")?.value, [3], "a stale revision from before the delete did not match")
        },
        StoreCheck("delete of a missing key is false and changes nothing") { c in
            try await c.store.write("kept", bytes: [1])
            try c.expect(try await c.store.delete("never-written") == false, "delete of a missing key is false")
            try c.expect(try await c.store.delete("never-written") == false, "twice")
            try c.expectEqual(try await c.store.read("kept")?.value, [1], "other records untouched")
        },
        StoreCheck("canonically equivalent keys are different keys") { c in
            let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
            try await c.store.write(composed, bytes: [1])
            try await c.store.write(decomposed, bytes: [2])
            try c.expectEqual(try await c.store.read(composed)?.value, [1], "precomposed é keeps its own value")
            try c.expectEqual(try await c.store.read(decomposed)?.value, [2], "e + combining accent keeps its own value")
            try c.expectKeys(try await c.store.list(), StoreCheckContext.byteOrder([composed, decomposed]), "both listed")
            try c.expectKeys(try await c.store.read(prefix: "cafe").map(\.key), [decomposed], "prefix 'cafe' matches only the decomposed key")
            try await c.store.delete(composed)
            try c.expectEqual(try await c.store.read(decomposed)?.value, [2], "deleting one leaves the other")
            try c.expect(try await c.store.read(composed) == nil, "the deleted one is gone")
        },
        StoreCheck("many records page consistently") { c in
            var keys = (0..<300).map { String(format: "item-%04d", ($0 * 7919) % 300) }
            keys.shuffle()
            for key in keys { try await c.store.write(key, bytes: Array(key.utf8)) }
            let all = try await c.store.list()
            try c.expectKeys(all, StoreCheckContext.byteOrder(keys), "all keys in byte order")
            var paged: [String] = []
            var offset = 0
            while true {
                let page = try await c.store.read(limit: 37, offset: offset)
                paged += page.map(\.key)
                for record in page { try c.expectEqual(record.value, Array(record.key.utf8), "value of \(record.key)") }
                if page.count < 37 { break }
                offset += page.count
            }
            try c.expectKeys(paged, all, "pages of 37 put together")
        },
    ]
}
