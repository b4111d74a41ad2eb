import Foundation
import MicroCore

extension ModelCheck {
    /// 40 people with repeating ages, scores, names sharing prefixes, some nicknames.
    static func population() -> [Person] {
        let names = ["Ada", "Adam", "Al", "Alan", "Bea", "Ben", "cara", "Cleo", "Zoë", "Zoe\u{308}", "Émile", "Eve"]
        var people: [Person] = []
        for i in 0..<40 {
            let id = String(format: "p%03d", (i * 17) % 40)
            let age: Int = 18 + (i * 7) % 23
            let score: Double = Double((i * 13) % 9) - 2.5
            let role: Person.Role = i % 4 == 0 ? .admin : .member
            let nickname: String? = i % 5 == 0 ? nil : "n\(i % 4)"
            people.append(Person(id, names[i % names.count], age: age, score: score, active: i % 3 != 0, role: role, nickname: nickname))
        }
        return people
    }

    static func byKey(_ people: [Person]) -> [String] {
        people.map(\.id).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static let queries: [ModelCheck] = [
        ModelCheck("filters on indexed and plain fields match what Swift computes") { c in
            let people = c.store.model(Person.self)
            let all = population()
            for person in all { try await people.create(person) }
            let cases: [(String, [ModelFilter<Person>], (Person) -> Bool)] = [
                ("age == 25", [\.age == 25], { $0.age == 25 }),
                ("age != 25", [\.age != 25], { $0.age != 25 }),
                ("age < 25", [\.age < 25], { $0.age < 25 }),
                ("age <= 25", [\.age <= 25], { $0.age <= 25 }),
                ("age > 30", [\.age > 30], { $0.age > 30 }),
                ("age >= 30", [\.age >= 30], { $0.age >= 30 }),
                ("age > 24.5 (a double on an int field)", [ModelFilter("age", .greater, 24.5)], { Double($0.age) > 24.5 }),
                ("20 <= age < 30", [\.age >= 20, \.age < 30], { $0.age >= 20 && $0.age < 30 }),
                ("score < 0 (negative doubles)", [\.score < 0], { $0.score < 0 }),
                ("score >= -1.5", [\.score >= -1.5], { $0.score >= -1.5 }),
                ("name == Al", [\.name == "Al"], { $0.name == "Al" }),
                ("name prefix Al", [.prefix(\.name, "Al")], { $0.name.hasPrefix("Al") }),
                ("name prefix A", [.prefix(\.name, "A")], { $0.name.utf8.starts(with: "A".utf8) }),
                ("name prefix empty", [.prefix(\.name, "")], { _ in true }),
                ("name > Ben (bytes)", [\.name > "Ben"], { "Ben".utf8.lexicographicallyPrecedes($0.name.utf8) }),
                ("name < Zoë (bytes)", [\.name < "Zoë"], { $0.name.utf8.lexicographicallyPrecedes("Zoë".utf8) }),
                ("name == Zoë, not Zoe + combining", [\.name == "Zoë"], { $0.name.utf8.elementsEqual("Zoë".utf8) }),
                ("active == true", [\.active == true], { $0.active }),
                ("active == false and age > 20", [\.active == false, \.age > 20], { !$0.active && $0.age > 20 }),
                ("role == admin (plain field, enum)", [\.role == .admin], { $0.role == .admin }),
                ("nickname == nil", [\.nickname == nil], { $0.nickname == nil }),
                ("nickname != nil", [\.nickname != nil], { $0.nickname != nil }),
                ("nickname == n1", [\.nickname == "n1"], { $0.nickname == "n1" }),
                ("nickname != n1 keeps nil", [\.nickname != "n1"], { $0.nickname != "n1" }),
                ("nickname < n2 drops nil", [\.nickname < "n2"], { $0.nickname.map { $0 < "n2" } ?? false }),
                ("nickname prefix n", [.prefix(\.nickname, "n")], { $0.nickname?.hasPrefix("n") ?? false }),
                ("id prefix p01 (key)", [.prefix(\.id, "p01")], { $0.id.hasPrefix("p01") }),
                ("no match", [\.age > 1000], { _ in false }),
                ("empty range", [\.age > 30, \.age < 20], { _ in false }),
            ]
            for (what, filters, expected) in cases {
                let got = try await people.list(where: filters).map(\.value.id)
                try c.expectKeys(got, byKey(all.filter(expected)), what)
                try c.expectEqual(try await people.count(where: filters), all.filter(expected).count, "count of \(what)")
            }
            let rows = try await people.list(where: [\.age == 25])
            for row in rows { try c.expectEqual(row.value, all.first { $0.id == row.value.id }!, "row \(row.value.id) read whole") }
        },
        ModelCheck("order, limit and offset") { c in
            let people = c.store.model(Person.self)
            let all = population()
            for person in all.shuffled() { try await people.create(person) }
            func sorted(_ key: (Person) -> Double, descending: Bool) -> [String] {
                all.sorted { a, b in
                    if key(a) != key(b) { return descending ? key(a) > key(b) : key(a) < key(b) }
                    return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
                }.map(\.id)
            }
            try c.expectKeys(try await people.list().map(\.value.id), byKey(all), "default order is by key")
            try c.expectKeys(try await people.list(order: .ascending(\.age)).map(\.value.id), sorted({ Double($0.age) }, descending: false), "by age")
            try c.expectKeys(try await people.list(order: .descending(\.age)).map(\.value.id), sorted({ Double($0.age) }, descending: true), "by age descending, ties by key")
            try c.expectKeys(try await people.list(order: .descending(\.score)).map(\.value.id), sorted({ $0.score }, descending: true), "by score descending")
            try c.expectKeys(try await people.list(order: .ascending("joined")).map(\.value.id), byKey(all), "by an equal date: ties by key")
            let byName = all.sorted { a, b in
                a.name.utf8.elementsEqual(b.name.utf8) ? a.id.utf8.lexicographicallyPrecedes(b.id.utf8) : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
            }.map(\.id)
            try c.expectKeys(try await people.list(order: .ascending(\.name)).map(\.value.id), byName, "by name in byte order")
            let nicknames = try await people.list(order: .ascending(\.nickname)).map(\.value.nickname)
            try c.expect(nicknames.prefix(8).allSatisfy { $0 == nil }, "nil sorts first ascending: \(nicknames.prefix(9))")
            let filtered = sorted({ Double($0.age) }, descending: false).filter { id in all.first { $0.id == id }!.age >= 25 }
            var paged: [String] = []
            var offset = 0
            while true {
                let page = try await people.list(where: [\.age >= 25], order: .ascending(\.age), limit: 7, offset: offset).map(\.value.id)
                paged += page
                if page.count < 7 { break }
                offset += 7
            }
            try c.expectKeys(paged, filtered, "pages of 7 by age")
            try c.expectEqual(try await people.list(limit: 0).count, 0, "limit 0")
            try c.expectEqual(try await people.list(offset: 100).count, 0, "offset past the end")
        },
        ModelCheck("long indexed strings compare whole") { c in
            let people = c.store.model(Person.self)
            let base = String(repeating: "x", count: 300)
            for (i, suffix) in ["a", "b", "c"].enumerated() { try await people.create(Person("l\(i)", base + suffix, age: i)) }
            try await people.create(Person("short", "x", age: 9))
            try c.expectKeys(try await people.list(where: [\.name == base + "b"]).map(\.value.id), ["l1"], "== a 301-byte string")
            try c.expectKeys(try await people.list(where: [\.name > base + "a"]).map(\.value.id), ["l1", "l2"], "> a long string")
            try c.expectKeys(try await people.list(where: [\.name <= base + "b"]).map(\.value.id), ["l0", "l1", "short"], "<= a long string")
            try c.expectKeys(try await people.list(where: [.prefix(\.name, base + "c")]).map(\.value.id), ["l2"], "a long prefix")
        },
    ]
}
