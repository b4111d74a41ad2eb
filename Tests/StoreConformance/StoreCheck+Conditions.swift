import MicroCore

extension StoreCheck {
    static let conditions: [StoreCheck] = [
        StoreCheck("conditional writes: ifAbsent and ifRevision conflict instead of overwriting") { c in
            let created = try await c.store.write("k", bytes: [1], metadata: ["v": "1"], condition: .ifAbsent)
            try await c.expectError(.conflict, "ifAbsent over a live record") {
                try await c.store.write("k", bytes: [2], metadata: ["v": "2"], condition: .ifAbsent)
            }
            var record = try await c.store.read("k")
            try c.expectEqual(record?.value, [1], "value after a failed ifAbsent")
            try c.expectEqual(record?.metadata, ["v": "1"], "metadata after a failed ifAbsent")
            try c.expectEqual(record?.revision, created, "revision after a failed ifAbsent")

            let updated = try await c.store.write("k", bytes: [3], condition: .ifRevision(created))
            try c.expect(updated > created, "ifRevision of the current revision writes, revision \(updated) > \(created)")
            try await c.expectError(.conflict, "ifRevision of a stale revision") {
                try await c.store.write("k", bytes: [4], condition: .ifRevision(created))
            }
            try await c.expectError(.conflict, "ifRevision(0)") { try await c.store.write("k", bytes: [4], condition: .ifRevision(0)) }
            try await c.expectError(.conflict, "ifRevision of a later revision") {
                try await c.store.write("k", bytes: [4], condition: .ifRevision(updated + 1000))
            }
            record = try await c.store.read("k")
            try c.expectEqual(record?.value, [3], "value after failed ifRevision writes")
            try c.expectEqual(record?.revision, updated, "revision after failed ifRevision writes")
            try await c.expectError(.conflict, "ifRevision of a key never written") {
                try await c.store.write("absent", bytes: [1], condition: .ifRevision(updated))
            }
            try c.expect(try await c.store.read("absent") == nil, "nothing written by a failed ifRevision")
            let always = try await c.store.write("k", bytes: [5], condition: .always)
            try c.expect(always > updated, "an unconditional write still writes")
        },
        StoreCheck("conditional deletes: only the given revision is deleted") { c in
            let revision = try await c.store.write("k", bytes: [1])
            try await c.expectError(.conflict, "delete ifRevision of a stale revision") {
                try await c.store.delete("k", ifRevision: revision + 1)
            }
            try c.expectEqual(try await c.store.read("k")?.value, [1], "record kept after a failed conditional delete")
            try c.expect(try await c.store.delete("k", ifRevision: revision), "delete ifRevision of the current revision")
            try c.expect(try await c.store.read("k") == nil, "record gone")
            try await c.expectError(.conflict, "delete ifRevision of a missing record") {
                try await c.store.delete("k", ifRevision: revision)
            }
        },
    ]
}
