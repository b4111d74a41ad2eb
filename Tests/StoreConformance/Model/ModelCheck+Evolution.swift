import Foundation
import MicroCore

extension ModelCheck {
    static let evolution: [ModelCheck] = [
        ModelCheck("a field added to the model keeps old rows readable") { c in
            let v1 = c.store.model(ItemV1.self)
            try await v1.create(ItemV1(sku: "a", title: "Apple"))
            try await v1.create(ItemV1(sku: "b", title: "Banana"))
            let v2 = c.store.model(ItemV2.self)
            try c.expectEqual(try await v2.read("a")?.value, ItemV2(sku: "a", title: "Apple", color: nil, stock: 0),
                              "an old row: the optional field nil, the other its default")
            try c.expectEqual(try await v2.list().map(\.value.sku), ["a", "b"], "old rows listed")
            try c.expectEqual(try await v2.list(where: [\.title == "Banana"]).map(\.value.sku), ["b"], "found by an old index")
            try await v2.create(ItemV2(sku: "c", title: "Cherry", color: "red", stock: 5))
            try c.expectEqual(try await v2.read("c")?.value.color, "red", "a new row with the new fields")
            try c.expectEqual(try await v2.list(where: [\.color == nil]).map(\.value.sku), ["a", "b"], "old rows have no color")
            try c.expectEqual(try await v2.count(where: [\.stock == 5]), 1, "filter on the new field")
            try await v2.update(ItemV2(sku: "a", title: "Apple", color: "green", stock: 2))
            try c.expectEqual(try await v2.list(where: [\.stock >= 2], order: .descending(\.stock)).map(\.value.sku), ["c", "a"], "updated old row found by a new field")
            try c.expectEqual(try await v1.read("c")?.value, ItemV1(sku: "c", title: "Cherry"), "the old type still reads new rows")
        },
    ]
}
