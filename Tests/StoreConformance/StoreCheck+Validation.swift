import MicroCore

extension StoreCheck {
    static let validation: [StoreCheck] = [
        StoreCheck("invalid keys are refused by every operation") { c in
            let longest = String(repeating: "k", count: StoreKey.maxLength)
            let longestMultibyte = String(repeating: "é", count: StoreKey.maxLength / 2)
            for key in ["", "a\u{0}b", "\u{0}", longest + "k", longestMultibyte + "é"] {
                let what = "key \(key.debugDescription.prefix(40)) (\(key.utf8.count) bytes)"
                try await c.expectError(.invalidKey, "write " + what) { try await c.store.write(key, bytes: [1]) }
                try await c.expectError(.invalidKey, "read " + what) { try await c.store.read(key) }
                try await c.expectError(.invalidKey, "delete " + what) { try await c.store.delete(key) }
                try await c.expectError(.invalidKey, "conditional delete " + what) { try await c.store.delete(key, ifRevision: 1) }
            }
            for affix in ["a\u{0}", longest + "k"] {
                try await c.expectError(.invalidKey, "read with such a prefix") { try await c.store.read(prefix: affix) }
                try await c.expectError(.invalidKey, "list with such a prefix") { try await c.store.list(prefix: affix) }
                try await c.expectError(.invalidKey, "read with such a suffix") { try await c.store.read(suffix: affix) }
                try await c.expectError(.invalidKey, "list with such a suffix") { try await c.store.list(suffix: affix) }
            }
            try c.expectKeys(try await c.store.list(), [], "nothing written by refused writes")
            for key in [longest, longestMultibyte, " ", "\u{1}", "/", "%", "'; DROP TABLE x; --", "\"", "?"] {
                try await c.store.write(key, bytes: Array(key.utf8))
                try c.expectEqual(try await c.store.read(key)?.value, Array(key.utf8), "key \(key.debugDescription.prefix(20)) round-trips")
            }
            try c.expectEqual(try await c.store.list(prefix: longest).count, 1, "prefix of the longest key")
        },
        StoreCheck("invalid names, limits, offsets, TTLs and metadata are refused") { c in
            for name in ["", "a b", "a.b", "a/b", "ü", "a\u{0}", "\"x\"", "x;y", String(repeating: "x", count: StoreScope.maxNameLength + 1)] {
                try await c.expectError(.invalidName, "database \(name.debugDescription)") { try StoreScope(database: name, table: "t") }
                try await c.expectError(.invalidName, "table \(name.debugDescription)") { try StoreScope(database: "d", table: name) }
                try await c.expectError(.invalidName, "scoped(table:) \(name.debugDescription)") { try c.store.scoped(table: name) }
            }
            let longestName = String(repeating: "x", count: StoreScope.maxNameLength)
            let edge = c.store.scoped(try StoreScope(database: c.store.scope.database, table: longestName))
            try await edge.write("k", bytes: [1])
            try c.expectEqual(try await edge.read("k")?.value, [1], "a table named with 48 characters")
            let punctuated = c.store.scoped(try StoreScope(database: c.store.scope.database, table: "A-b_9"))
            try await punctuated.write("k", bytes: [2])
            try c.expectEqual(try await punctuated.read("k")?.value, [2], "a table named A-b_9")

            try await c.expectError(.invalidArgument, "negative limit") { try await c.store.read(limit: -1) }
            try await c.expectError(.invalidArgument, "negative offset") { try await c.store.list(offset: -1) }
            try await c.expectError(.invalidArgument, "zero TTL") { try await c.store.write("k", bytes: [1], ttl: .zero) }
            try await c.expectError(.invalidArgument, "negative TTL") { try await c.store.write("k", bytes: [1], ttl: .seconds(-1)) }
            try await c.expectError(.invalidArgument, "NUL in a metadata value") { try await c.store.write("k", bytes: [1], metadata: ["a": "\u{0}"]) }
            try await c.expectError(.invalidArgument, "NUL in a metadata name") { try await c.store.write("k", bytes: [1], metadata: ["\u{0}": "a"]) }
            try c.expect(try await c.store.read("k") == nil, "nothing written by refused writes")
        },
        StoreCheck("values and metadata over the limits are refused and change nothing") { c in
            let limits = c.store.limits
            let largest = [UInt8](repeating: 0xAB, count: limits.maxValueBytes)
            let revision = try await c.store.write("big", bytes: largest)
            try c.expectEqual(try await c.store.read("big")?.value, largest, "a value of exactly the limit")
            try await c.expectError(.tooLarge, "a value one byte over the limit") {
                try await c.store.write("big", bytes: largest + [1])
            }
            try await c.expectError(.tooLarge, "a new key with a value over the limit") {
                try await c.store.write("new", bytes: largest + [1], condition: .ifAbsent)
            }
            try c.expectEqual(try await c.store.read("big")?.revision, revision, "the record kept its revision")
            try c.expect(try await c.store.read("new") == nil, "nothing written under the new key")
            let half = limits.maxMetadataBytes / 2
            let fits = ["a": String(repeating: "m", count: half - 1), "b": String(repeating: "n", count: limits.maxMetadataBytes - half - 1)]
            try await c.store.write("meta", bytes: [1], metadata: fits)
            try c.expectEqual(try await c.store.read("meta")?.metadata, fits, "metadata of exactly the limit")
            try await c.expectError(.tooLarge, "metadata one byte over the limit") {
                try await c.store.write("meta", bytes: [2], metadata: ["a": String(repeating: "m", count: limits.maxMetadataBytes)])
            }
            try c.expectEqual(try await c.store.read("meta")?.value, [1], "the record kept its value")
        },
    ]
}
