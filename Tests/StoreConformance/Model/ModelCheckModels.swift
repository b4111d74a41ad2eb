import Foundation
import MicroCore

/// A model with a field of every kind, indexes on some.
struct Person: Model, Identifiable, Equatable {
    enum Role: String, Codable, CaseIterable, ModelValueConvertible { case admin, member }
    struct Address: Codable, Equatable, Sendable { var city: String; var zip: String }

    var id: String
    var name: String
    var age: Int
    var score: Double
    var active: Bool
    var role: Role
    var joined: Date
    var nickname: String?
    var tags: [String]
    var address: Address?

    static let schema = ModelSchema(table: "people", key: \Person.id, indexes: [\.name, \.age, \.score, \.active, \.nickname])

    init(_ id: String, _ name: String, age: Int, score: Double = 0, active: Bool = true, role: Role = .member,
         nickname: String? = nil, tags: [String] = [], address: Address? = nil) {
        self.id = id
        self.name = name
        self.age = age
        self.score = score
        self.active = active
        self.role = role
        self.joined = Date(timeIntervalSinceReferenceDate: 800_000_000.123456)
        self.nickname = nickname
        self.tags = tags
        self.address = address
    }
}

/// A model keyed by an integer, no indexes.
struct Counter: Model, Identifiable, Equatable {
    var id: Int
    var label: String
    static let schema = ModelSchema(table: "counters", key: \Counter.id)
}

/// Version 1 and 2 of one model: 2 adds an optional field and a field with a default.
public struct ItemV1: Model, Equatable {
    public var sku: String
    public var title: String
    public static let schema = ModelSchema(table: "items", key: \ItemV1.sku, indexes: [\.title])

    public init(sku: String, title: String) {
        self.sku = sku
        self.title = title
    }
}

public struct ItemV2: Model, Equatable {
    public var sku: String
    public var title: String
    public var color: String?
    public var stock: Int
    public static let schema = ModelSchema(table: "items", key: \ItemV2.sku, indexes: [\.title, \.stock], defaults: ["stock": 0])

    public init(sku: String, title: String, color: String?, stock: Int) {
        self.sku = sku
        self.title = title
        self.color = color
        self.stock = stock
    }
}

/// Models with bad schemas.
struct BadTable: Model, Identifiable {
    var id: String
    static let schema = ModelSchema(table: "no spaces", key: \BadTable.id)
}

struct BadField: Model, Identifiable {
    var id: String
    var firstName: String
    enum CodingKeys: String, CodingKey { case id, firstName = "first-name" }
}

struct BadIndex: Model, Identifiable {
    var id: String
    static let schema = ModelSchema<BadIndex, String>(keyField: "id", indexes: ["missing"])
}

struct BadKey: Model {
    var id: String
    var tags: [String]
    static let schema = ModelSchema<BadKey, String>(keyField: "tags")
}

/// An `Identifiable` model with no schema at all.
struct Note: Model, Identifiable, Equatable {
    var id: UUID
    var text: String
}

/// A model with a field of each column type SQL backends make (integer key, string, double, bool,
/// date, UUID, nested array, optional string), for backends' own table and plan tests.
public struct Book: Model, Identifiable, Equatable {
    public struct Edition: Codable, Equatable, Sendable { public var year: Int; public var press: String }
    public var id: Int
    public var title: String
    public var price: Double
    public var inPrint: Bool
    public var published: Date
    public var isbn: UUID
    public var editions: [Edition]
    public var subtitle: String?
    public static let schema = ModelSchema(table: "books", key: \Book.id, indexes: [\.title, \.price])

    /// Book `id`: in print when `id` is even, published `7e8 + id` seconds after 2001, one edition in
    /// `2000 + id`, a subtitle `s<id>` unless `id` is a multiple of 3.
    public static func sample(_ id: Int, _ title: String, price: Double) -> Book {
        Book(id: id, title: title, price: price, inPrint: id % 2 == 0, published: Date(timeIntervalSinceReferenceDate: 7e8 + Double(id)),
             isbn: UUID(), editions: [Edition(year: 2000 + id, press: "P")], subtitle: id % 3 == 0 ? nil : "s\(id)")
    }
}
