import Foundation
import MicroCore

extension ModelCheck {
    static let crud: [ModelCheck] = [
        ModelCheck("create then read returns every field") { c in
            let people = c.store.model(Person.self)
            let alice = Person("a1", "Alice", age: 30, score: 4.5, active: false, role: .admin, nickname: "Al", tags: ["x", "y"],
                               address: .init(city: "Zürich", zip: "8000"))
            let created = try await people.create(alice)
            try c.expect(created.revision > 0, "revision \(created.revision) is positive")
            let read = try await people.read("a1")
            try c.expect(read != nil, "created row is read back")
            try c.expectEqual(read!.value, alice, "the row read back")
            try c.expectEqual(read!.revision, created.revision, "its revision")
            try c.expectEqual(read!.name, "Alice", "a field read through Versioned")
            let bob = Person("b2", "Bob", age: 40)
            try await people.create(bob)
            try c.expectEqual(try await people.read("b2")?.value, bob, "a row with nil and empty fields")
            try c.expect(try await people.read("missing") == nil, "a key never created reads as nil")
        },
        ModelCheck("create of an existing key is a conflict and changes nothing") { c in
            let people = c.store.model(Person.self)
            try await people.create(Person("k", "First", age: 1))
            try await c.expectError(.conflict, "second create") { try await people.create(Person("k", "Second", age: 2)) }
            try c.expectEqual(try await people.read("k")?.name, "First", "the first row stays")
            try c.expectEqual(try await people.list(where: [\.name == "Second"]).count, 0, "no row found by the refused value")
            try c.expectEqual(try await people.count(where: [\.age == 2]), 0, "nor counted")
        },
        ModelCheck("update replaces a row, fails when missing or when its revision moved on") { c in
            let people = c.store.model(Person.self)
            let v1 = try await people.create(Person("u", "Ann", age: 20))
            var changed = v1
            changed.age = 21
            changed.name = "Anna"
            let v2 = try await people.update(changed)
            try c.expect(v2.revision > v1.revision, "revision grows: \(v2.revision) > \(v1.revision)")
            try c.expectEqual(try await people.read("u")?.value.age, 21, "updated value read back")
            try await c.expectError(.conflict, "update at the old revision") { try await people.update(v1) }
            try c.expectEqual(try await people.read("u")?.value.name, "Anna", "the refused update changed nothing")
            try await c.expectError(.notFound, "update of a missing row") { try await people.update(Person("nobody", "X", age: 1)) }
            try c.expect(try await people.read("nobody") == nil, "update did not create it")
            let v3 = try await people.update(Person("u", "Annie", age: 22))
            try c.expect(v3.revision > v2.revision, "an update without a revision overwrites")
            try c.expectEqual(try await people.list(where: [\.name == "Anna"]).count, 0, "the old indexed value no longer matches")
            try c.expectEqual(try await people.list(where: [\.name == "Annie"]).map(\.value.id), ["u"], "the new one does")
            try c.expectEqual(try await people.list(where: [\.age == 20]).count, 0, "nor the first age")
        },
        ModelCheck("delete removes a row; with a revision only that revision") { c in
            let people = c.store.model(Person.self)
            let v1 = try await people.create(Person("d", "Dee", age: 50))
            let v2 = try await people.update(Person("d", "Dee", age: 51))
            try await c.expectError(.conflict, "delete at an old revision") { try await people.delete("d", ifRevision: v1.revision) }
            try c.expect(try await people.read("d") != nil, "still there")
            try c.expect(try await people.delete("d", ifRevision: v2.revision), "delete at the current revision")
            try c.expect(try await people.read("d") == nil, "gone")
            try c.expect(try await people.delete("d") == false, "delete of a missing row is false")
            try c.expectEqual(try await people.list(where: [\.name == "Dee"]).count, 0, "not found through its index")
            try c.expectEqual(try await people.count(), 0, "not counted")
            let again = try await people.create(Person("d", "Dee", age: 52))
            try c.expect(again.revision > v2.revision, "a recreated row's revision is higher")
        },
        ModelCheck("integer and UUID keys, and a model without a schema") { c in
            let counters = c.store.model(Counter.self)
            for id in [5, -3, 1_000_000_000_000, 0, -1_000_000_000_000, 42] { try await counters.create(Counter(id: id, label: "n\(id)")) }
            try c.expectEqual(try await counters.read(42)?.value.label, "n42", "read by integer key")
            try c.expectEqual(try await counters.list().map(\.value.id), [-1_000_000_000_000, -3, 0, 5, 42, 1_000_000_000_000], "listed in key order")
            try c.expectEqual(try await counters.list(where: [\.id >= 0], limit: 2).map(\.value.id), [0, 5], "a filter on the key")
            let notes = c.store.model(Note.self)
            let id = UUID()
            try await notes.create(Note(id: id, text: "hello"))
            try c.expectEqual(try await notes.read(id)?.value.text, "hello", "read by UUID key")
            try c.expectEqual(try await notes.list(where: [\.id == id]).count, 1, "a filter on a UUID")
        },
        ModelCheck("concurrent updates at one revision: exactly one wins") { c in
            let people = c.store.model(Person.self)
            let v1 = try await people.create(Person("race", "R", age: 0))
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 1...8 {
                    group.addTask {
                        var mine = v1
                        mine.age = i
                        do { try await people.update(mine); return true } catch let error as StoreError where error.code == .conflict { return false }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try c.expectEqual(wins, 1, "winning updates")
            let final = try await people.read("race")!.value.age
            try c.expectEqual(try await people.list(where: [\.age == final]).map(\.value.id), ["race"], "found by the winner's value")
            try c.expectEqual(try await people.count(where: [\.age >= 1]), 1, "counted once")
            let creates = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 1...8 {
                    group.addTask {
                        do { try await people.create(Person("new", "N\(i)", age: i)); return true } catch let error as StoreError where error.code == .conflict { return false }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try c.expectEqual(creates, 1, "winning creates")
            try c.expectEqual(try await people.list(where: [.prefix(\.name, "N")]).count, 1, "one row for the contested key")
        },
    ]
}
