import Foundation
import MicroCore

extension ModelCheck {
    static let validation: [ModelCheck] = [
        ModelCheck("bad schemas are typed errors") { c in
            try await c.expectError(.invalidName, "a table name with a space") { try await c.store.model(BadTable.self).count() }
            try await c.expectError(.invalidName, "a field named first-name") { try await c.store.model(BadField.self).count() }
            try await c.expectError(.invalidArgument, "an index on a missing field") { try await c.store.model(BadIndex.self).count() }
            try await c.expectError(.invalidArgument, "a key that is an array") { try await c.store.model(BadKey.self).count() }
        },
        ModelCheck("bad filters, orders and keys are typed errors") { c in
            let people = c.store.model(Person.self)
            try await people.create(Person("v", "V", age: 1))
            try await c.expectError(.invalidArgument, "a filter on an unknown field") {
                try await people.list(where: [ModelFilter("height", .equal, 180)])
            }
            try await c.expectError(.invalidArgument, "a count on an unknown field") { try await people.count(where: [ModelFilter("height", .equal, 1)]) }
            try await c.expectError(.invalidArgument, "an order by an unknown field") { try await people.list(order: .ascending("height")) }
            try await c.expectError(.invalidArgument, "an order by nested JSON") { try await people.list(order: .ascending(\.tags)) }
            try await c.expectError(.invalidArgument, "a string compared with an int field") {
                try await people.list(where: [ModelFilter("age", .equal, "old")])
            }
            try await c.expectError(.invalidArgument, "a prefix on an int field") { try await people.list(where: [.prefix("age", "1")]) }
            try await c.expectError(.invalidArgument, "nil ordered") { try await people.list(where: [ModelFilter("age", .less, nil)]) }
            try await c.expectError(.invalidArgument, "a filter on nested JSON") {
                try await people.list(where: [ModelFilter("tags", .equal, .json("[]"))])
            }
            try await c.expectError(.invalidArgument, "a path into a nested value") {
                try await people.list(where: [\.address?.city == "Bern"])
            }
            try await c.expectError(.invalidArgument, "a negative limit") { try await people.list(limit: -1) }
            try await c.expectError(.invalidArgument, "a negative offset") { try await people.list(offset: -1) }
            try await c.expectError(.invalidKey, "an empty key") { try await people.create(Person("", "E", age: 1)) }
            try await c.expectError(.invalidKey, "a key with NUL") { try await people.read("a\u{0}b") }
            try await c.expectError(.invalidKey, "a 300-byte key") { try await people.create(Person(String(repeating: "k", count: 300), "K", age: 1)) }
            try c.expectEqual(try await people.count(), 1, "nothing was written by the refused calls")
        },
    ]
}
