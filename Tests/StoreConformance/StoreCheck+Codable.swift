import Foundation
import MicroCore

struct Profile: Codable, Equatable, Sendable {
    var name: String
    var age: Int
    var tags: [String]
    var address: Address?

    struct Address: Codable, Equatable, Sendable {
        var city: String
    }
}

extension StoreCheck {
    static let codable: [StoreCheck] = [
        StoreCheck("Codable values round-trip as JSON, with their revision") { c in
            let alice = Profile(name: "Alice \"A\" ✓", age: 41, tags: ["admin", ""], address: .init(city: "Zürich"))
            let revision = try await c.store.write("alice", value: alice, metadata: ["kind": "profile"])
            try c.expectEqual(try await c.store.read("alice", as: Profile.self), alice, "value read back")
            let entry = try await c.store.entry("alice", as: Profile.self)
            try c.expectEqual(entry?.revision, revision, "entry revision")
            try c.expectEqual(entry?.metadata, ["kind": "profile"], "entry metadata")
            let json = try await c.store.read("alice").map { String(decoding: $0.value, as: UTF8.self) }
            let reparsed = try json.flatMap { try JSONDecoder().decode(Profile.self, from: Data($0.utf8)) }
            try c.expectEqual(reparsed, alice, "the stored bytes are JSON Foundation reads")

            var older = alice
            older.age = 42
            let updated = try await c.store.write("alice", value: older, condition: .ifRevision(revision))
            try await c.expectError(.conflict, "a Codable write with a stale revision") {
                try await c.store.write("alice", value: alice, condition: .ifRevision(revision))
            }
            try c.expectEqual(try await c.store.read("alice", as: Profile.self)?.age, 42, "the conditional write landed")
            try c.expectEqual(try await c.store.entry("alice", as: Profile.self)?.revision, updated, "its revision")

            try c.expectEqual(try await c.store.read("nobody", as: Profile.self), nil, "a missing key")
            try await c.store.write("text", value: "plain string")
            try await c.store.write("number", value: 7)
            try c.expectEqual(try await c.store.read("text", as: String.self), "plain string", "a top-level string")
            try c.expectEqual(try await c.store.read("number", as: Int.self), 7, "a top-level number")
            try await c.store.write("bob", value: Profile(name: "Bob", age: 7, tags: [], address: nil))
            let entries = try await c.store.entries(StoreQuery(prefix: "", suffix: "b"), as: Profile.self)
            try c.expectEqual(entries.map(\.value.name), ["Bob"], "entries decoded by query")
        },
        StoreCheck("values that do not decode are malformed, not a crash") { c in
            try await c.store.write("number", value: 7)
            try await c.expectError(.malformed, "a number read as a Profile") { try await c.store.read("number", as: Profile.self) }
            try await c.store.write("garbage", bytes: [0xFF, 0x00, 0x7B])
            try await c.expectError(.malformed, "bytes that are not JSON") { try await c.store.read("garbage", as: Profile.self) }
            try await c.expectError(.malformed, "entry of bytes that are not JSON") { try await c.store.entry("garbage", as: Int.self) }
            try await c.store.write("partial", bytes: Array(#"{"name":"x"}"#.utf8))
            try await c.expectError(.malformed, "JSON missing fields") { try await c.store.read("partial", as: Profile.self) }
        },
    ]
}
