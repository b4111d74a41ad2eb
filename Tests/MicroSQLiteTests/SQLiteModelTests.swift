import Foundation
import MicroCore
import MicroSQLite
import SQLiteNIO
import StoreConformance
import Testing

@Suite struct SQLiteModelConformanceTests {
    static let suite = ModelConformance(backend: "sqlite") {
        SQLiteStore(directory: TemporaryDirectory().path)
    } cleanup: { store in
        if let store = store as? SQLiteStore { TemporaryDirectory(path: store.directory).remove() }
    }

    @Test(arguments: ModelCheck.all) func models(_ check: ModelCheck) async throws {
        try await Self.suite.run(check)
    }
}

@Suite struct SQLiteModelTests {
    private func withStore<T>(_ body: (SQLiteStore, TemporaryDirectory) async throws -> T) async throws -> T {
        let directory = TemporaryDirectory()
        let store = SQLiteStore(directory: directory.path)
        do {
            let result = try await body(store, directory)
            await store.shutdown()
            directory.remove()
            return result
        } catch {
            await store.shutdown()
            directory.remove()
            throw error
        }
    }

    @Test func aModelIsATableWithTypedColumnsAndIndexes() async throws {
        try await withStore { store, directory in
            let books = store.model(Book.self)
            let b = Book.sample(1, "Dune", price: 9.5)
            try await books.create(b)
            #expect(try await books.read(1)?.value == b)
            try await withRawConnection(try store.path(of: "micro")) { connection in
                let columns = try await connection.query("PRAGMA table_info(model_books)").map {
                    "\($0.column("name")?.string ?? "?") \($0.column("type")?.string ?? "?")\($0.column("pk")?.integer == 1 ? " pk" : "")"
                }
                #expect(columns == ["id INTEGER pk", "title TEXT", "price REAL", "inPrint INTEGER", "published REAL", "isbn TEXT",
                                    "editions TEXT", "subtitle TEXT", "micro_revision INTEGER"])
                let indexes = try await connection.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'model_books' ORDER BY name")
                    .compactMap { $0.column("name")?.string }.filter { !$0.hasPrefix("sqlite_autoindex") }
                #expect(indexes == ["model_books__price", "model_books__title"])
                let row = try await connection.query("SELECT title, price, inPrint, published, isbn, editions, subtitle FROM model_books").first!
                #expect(row.column("title") == .text("Dune"))
                #expect(row.column("price") == .float(9.5))
                #expect(row.column("inPrint") == .integer(0))
                #expect(row.column("published") == .float(7e8 + 1))
                #expect(row.column("isbn") == .text(b.isbn.uuidString))
                #expect(row.column("editions") == .text("[{\"year\":2001,\"press\":\"P\"}]"))
                #expect(row.column("subtitle") == .text("s1"))
            }
        }
    }

    @Test func queriesOnIndexedFieldsUseTheIndex() async throws {
        try await withStore { store, _ in
            let books = store.model(Book.self)
            for i in 0..<50 { try await books.create(Book.sample(i, "t\(i % 10)", price: Double(i))) }
            let layout = try ModelLayout.of(Book.self)
            func plan(_ filters: [ModelFilter<Book>], order: ModelOrder<Book>? = nil) async throws -> String {
                let query = try ModelQuery(filters, order: order, limit: nil, offset: 0, in: layout)
                return try await store.queryPlan(query, layout: layout).joined(separator: "; ")
            }
            let byTitle = try await plan([\.title == "t3"])
            #expect(byTitle.contains("USING INDEX model_books__title (title=?)"), "\(byTitle)")
            let byPrefix = try await plan([.prefix(\.title, "t")])
            #expect(byPrefix.contains("USING INDEX model_books__title (title>? AND title<?)"), "\(byPrefix)")
            let byRange = try await plan([\.price >= 10, \.price < 20])
            #expect(byRange.contains("USING INDEX model_books__price (price>? AND price<?)"), "\(byRange)")
            let ordered = try await plan([], order: .descending(\.price))
            #expect(ordered.contains("model_books__price"), "\(ordered)")
            let plain = try await plan([\.inPrint == true])
            #expect(plain.contains("SCAN model_books"), "\(plain)")
            #expect(try await books.list(where: [\.price >= 10, \.price < 20]).count == 10)
        }
    }

    @Test func aFieldAddedToTheModelIsAColumnAddedOnOpen() async throws {
        struct V1: Model, Identifiable {
            var id: String
            var name: String
            static let schema = ModelSchema(table: "users", key: \V1.id)
        }
        struct V2: Model, Identifiable, Equatable {
            var id: String
            var name: String
            var email: String?
            var level: Int
            static let schema = ModelSchema(table: "users", key: \V2.id, indexes: [\.level], defaults: ["level": 1])
        }
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let first = SQLiteStore(directory: directory.path)
        try await first.model(V1.self).create(V1(id: "u1", name: "Old"))
        await first.shutdown()
        // A later version of the program, a new process as far as the file is concerned.
        let second = SQLiteStore(directory: directory.path)
        let users = second.model(V2.self)
        #expect(try await users.read("u1")?.value == V2(id: "u1", name: "Old", email: nil, level: 1))
        try await users.create(V2(id: "u2", name: "New", email: "n@x", level: 3))
        #expect(try await users.list(where: [\.level == 1]).map(\.value.id) == ["u1"])
        #expect(try await users.list(order: .descending(\.level)).map(\.value.id) == ["u2", "u1"])
        try await withRawConnection(try second.path(of: "micro")) { connection in
            let columns = try await connection.query("PRAGMA table_info(model_users)").compactMap { $0.column("name")?.string }
            #expect(columns == ["id", "name", "micro_revision", "email", "level"])
        }
        await second.shutdown()
    }

    @Test func aRowThatIsNotItsModelIsMalformed() async throws {
        try await withStore { store, _ in
            let books = store.model(Book.self)
            try await books.create(Book.sample(1, "Dune", price: 9.5))
            try await withRawConnection(try store.path(of: "micro")) { connection in
                _ = try await connection.query("UPDATE model_books SET price = 'cheap' WHERE id = 1")
            }
            await #expect(throws: StoreError.self) { try await books.read(1) }
            do { _ = try await books.read(1) } catch let error as StoreError { #expect(error.code == .malformed) }
        }
    }
}
