import Foundation
import MicroCore
import MicroPostgres
import MicroTestSupport
import StoreConformance
import Testing

@Suite struct PostgresModelConformanceTests {
    /// The model checks the SQLite and key-value backends pass, on one server (a schema per check).
    static let suite = ModelConformance(backend: "postgres") {
        let server = try await PostgresProcess.shared()
        return try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url))
    }

    @Test(arguments: ModelCheck.all) func models(_ check: ModelCheck) async throws {
        try await Self.suite.run(check)
    }
}

@Suite struct PostgresModelTests {
    /// The schema a store's tables live in, unquoted.
    private func schema(_ store: PostgresStore) -> String { "store_" + store.scope.database }

    @Test func aModelIsATableWithTypedColumnsAndIndexes() async throws {
        let (store, server) = try await PostgresStoreTests.freshStore()
        let books = store.model(Book.self)
        let b = Book.sample(1, "Dune", price: 9.5)
        try await books.create(b)
        #expect(try await books.read(1)?.value == b)
        let columns = try await server.psql("""
            SELECT column_name || ' ' || data_type || ' ' || coalesce(collation_name, '-') || ' ' || is_nullable FROM information_schema.columns
            WHERE table_schema = '\(schema(store))' AND table_name = 'm_books' ORDER BY ordinal_position
            """)
        #expect(columns.split(separator: "\n") == [
            "id bigint - NO", "title text C YES", "price double precision - YES", "inPrint boolean - YES", "published double precision - YES",
            "isbn text C YES", "editions json - YES", "subtitle text C YES", "micro_revision bigint - NO",
        ])
        let indexes = try await server.psql("""
            SELECT string_agg(indexname || ': ' || regexp_replace(indexdef, '^.* USING ', ''), E'\\n' ORDER BY indexname) FROM pg_indexes
            WHERE schemaname = '\(schema(store))' AND tablename = 'm_books'
            """)
        #expect(indexes.split(separator: "\n") == ["mi_books.price: btree (price NULLS FIRST)", "mi_books.title: btree (title NULLS FIRST)",
                                                   "mk_books: btree (id)"])
        let row = try await server.psql("""
            SELECT concat_ws('|', title, price, "inPrint", published, isbn, editions, subtitle, micro_revision > 0) FROM \(try store.tableName(of: ModelLayout.of(Book.self)))
            """)
        #expect(row == "Dune|9.5|f|700000001|\(b.isbn.uuidString)|[{\"year\":2001,\"press\":\"P\"}]|s1|t")
        await store.shutdown()
    }

    @Test func queriesOnIndexedFieldsUseTheIndex() async throws {
        let (store, server) = try await PostgresStoreTests.freshStore()
        let books = store.model(Book.self)
        try await books.create(Book.sample(1, "Dune", price: 9.5))
        let layout = try ModelLayout.of(Book.self)
        let table = store.tableName(of: layout)
        // A realistic table: 20,000 books, 2,000 titles, with statistics; the planner chooses freely.
        try await server.psql("""
            INSERT INTO \(table) SELECT g, 't' || (g % 2000), g::float8, g % 2 = 0, 7e8 + g, upper(md5(g::text)::uuid::text), '[]', NULL,
              nextval('"\(schema(store))"."ms_books"') FROM generate_series(2, 20001) g;
            ANALYZE \(table)
            """)
        func plan(_ filters: [ModelFilter<Book>], order: ModelOrder<Book>? = nil, limit: Int? = nil) async throws -> String {
            let query = try ModelQuery(filters, order: order, limit: limit, offset: 0, in: layout)
            return try await store.queryPlan(query, layout: layout).joined(separator: "; ")
        }
        let byTitle = try await plan([\.title == "t123"])
        #expect(byTitle.contains("Index Scan using \"mi_books.title\"") || byTitle.contains("Bitmap Index Scan on \"mi_books.title\""), "\(byTitle)")
        #expect(!byTitle.contains("Seq Scan"), "\(byTitle)")
        let byPrefix = try await plan([.prefix(\.title, "t123")])
        #expect(byPrefix.contains("\"mi_books.title\"") && byPrefix.contains("Index Cond: ((title >= ") && byPrefix.contains("AND (title < "),
                "\(byPrefix)")
        let byRange = try await plan([\.price >= 1000, \.price < 1100])
        #expect(byRange.contains("\"mi_books.price\"") && byRange.contains("Index Cond: ((price >= "), "\(byRange)")
        let cheapest = try await plan([], order: .descending(\.price), limit: 10)
        #expect(cheapest.contains("Index Scan Backward using \"mi_books.price\"") && !cheapest.contains("Seq Scan"), "\(cheapest)")
        let plain = try await plan([\.inPrint == true])
        #expect(plain.contains("Filter: \"inPrint\"") && !plain.contains("mi_books"), "a field without an index is a filter over every row: \(plain)")
        // And the answers are the right rows.
        #expect(try await books.count(where: [\.title == "t123"]) == 10)
        #expect(try await books.count(where: [.prefix(\.title, "t123")]) == 110)
        #expect(try await books.list(where: [\.price >= 1000, \.price < 1100]).map(\.value.id) == Array(1000..<1100))
        #expect(try await books.list(order: .descending(\.price), limit: 3).map(\.value.id) == [20001, 20000, 19999])
        await store.shutdown()
    }

    @Test func aFieldAddedToTheModelIsAColumnAddedOnFirstUse() async throws {
        // ItemV2 adds an optional field and an indexed one with a default to ItemV1.
        let (first, server) = try await PostgresStoreTests.freshStore()
        try await first.model(ItemV1.self).create(ItemV1(sku: "a", title: "Apple"))
        try await first.model(ItemV1.self).create(ItemV1(sku: "b", title: "Banana"))
        await first.shutdown()
        // A later version of the program: a new pool, as a new process would have.
        let second = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url), scope: first.scope)
        let items = second.model(ItemV2.self)
        #expect(try await items.read("a")?.value == ItemV2(sku: "a", title: "Apple", color: nil, stock: 0))
        try await items.create(ItemV2(sku: "c", title: "Cherry", color: "red", stock: 5))
        #expect(try await items.list(where: [\.stock == 0]).map(\.value.sku) == ["a", "b"], "old rows have the default in the column")
        #expect(try await items.list(order: .descending(\.stock)).map(\.value.sku) == ["c", "a", "b"])
        #expect(try await items.list(where: [\.color == nil]).map(\.value.sku) == ["a", "b"])
        let columns = try await server.psql("""
            SELECT string_agg(column_name || ' ' || data_type || ' ' || coalesce(column_default, '-'), ', ' ORDER BY ordinal_position)
            FROM information_schema.columns WHERE table_schema = '\(schema(first))' AND table_name = 'm_items'
            """)
        #expect(columns == "sku text -, title text -, micro_revision bigint -, color text -, stock bigint 0")
        #expect(try await server.psql("SELECT count(*) FROM pg_indexes WHERE schemaname = '\(schema(first))' AND indexname = 'mi_items.stock'") == "1")
        // The old version of the program still reads and writes.
        try await second.model(ItemV1.self).create(ItemV1(sku: "d", title: "Date"))
        #expect(try await items.read("d")?.value == ItemV2(sku: "d", title: "Date", color: nil, stock: 0))
        #expect(try await second.model(ItemV1.self).read("c")?.value.title == "Cherry")
        await second.shutdown()
    }

    @Test func malformedRowsAreTypedErrorsNotCrashes() async throws {
        let (store, server) = try await PostgresStoreTests.freshStore()
        let books = store.model(Book.self)
        for i in 1...6 { try await books.create(Book.sample(i, "b\(i)", price: Double(i))) }
        let table = store.tableName(of: try ModelLayout.of(Book.self))
        try await server.psql("""
            ALTER TABLE \(table) ALTER COLUMN editions TYPE text;
            UPDATE \(table) SET editions = '[{"year": 1, "press": ' WHERE id = 2;
            UPDATE \(table) SET editions = '1, "title": "injected"' WHERE id = 3;
            UPDATE \(table) SET title = NULL WHERE id = 4;
            UPDATE \(table) SET micro_revision = -1 WHERE id = 5;
            UPDATE \(table) SET editions = '{"not": "an array"}' WHERE id = 6
            """)
        #expect(try await books.read(1)?.value.title == "b1", "an intact row still reads")
        for id in 2...6 {
            await #expect("book \(id)") { try await books.read(id) } throws: { ($0 as? StoreError)?.code == .malformed }
        }
        await #expect { try await books.list() } throws: { ($0 as? StoreError)?.code == .malformed }
        #expect(try await books.count() == 6, "counting reads no row")
        #expect(try await books.delete(2), "a bad row can be deleted")

        // A column of another type than its field: reads are malformed; a new process refuses the table.
        try await server.psql("ALTER TABLE \(table) ALTER COLUMN price TYPE text USING 'cheap'")
        await #expect { try await books.read(1) } throws: { ($0 as? StoreError)?.code == .malformed }
        let fresh = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url), scope: store.scope)
        await #expect { try await fresh.model(Book.self).read(1) } throws: {
            ($0 as? StoreError)?.code == .invalidArgument && "\($0)".contains("column 'price'")
        }
        // The revision sequence dropped: refused, never starting again at 1.
        try await server.psql(#"ALTER TABLE \#(table) ALTER COLUMN price TYPE double precision USING 1; DROP SEQUENCE "\#(schema(store))"."ms_books""#)
        let third = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url), scope: store.scope)
        await #expect { try await third.model(Book.self).create(Book.sample(9, "x", price: 1)) } throws: { ($0 as? StoreError)?.code == .malformed }
        await fresh.shutdown()
        await third.shutdown()
        await store.shutdown()
    }

    @Test func namesNeedingQuotesAndLongNamesWork() async throws {
        struct Awkward: Model, Identifiable, Equatable {
            var id: String
            var select: Int
            var Order: String
            var a_field_name_of_exactly_forty_eight_characters_x: String?
            static let schema = ModelSchema(table: "line-items-with-a-long-table-name-of-48-chars-x1", key: \Awkward.id,
                                            indexes: [\.select, \.Order, \.a_field_name_of_exactly_forty_eight_characters_x])
        }
        let (store, server) = try await PostgresStoreTests.freshStore()
        let rows = store.model(Awkward.self)
        for i in 0..<5 { try await rows.create(Awkward(id: "k\(i)", select: i, Order: "o\(4 - i)", a_field_name_of_exactly_forty_eight_characters_x: i % 2 == 0 ? "even" : nil)) }
        #expect(try await rows.list(where: [\.select >= 3]).map(\.value.id) == ["k3", "k4"])
        #expect(try await rows.list(order: .ascending(\.Order), limit: 2).map(\.value.id) == ["k4", "k3"])
        #expect(try await rows.count(where: [\.a_field_name_of_exactly_forty_eight_characters_x == "even"]) == 3)
        let indexes = try await server.psql("""
            SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = '\(schema(store))'
            """)
        let names = indexes.split(separator: ",").map(String.init)
        #expect(names.count == 4 && names.allSatisfy { $0.utf8.count <= 63 }, "\(names)")
        #expect(names.contains("mi_line-items-with-a-long-table-name-of-48-chars-x1.select"), "\(names)")
        #expect(names.contains("mi_line-items-with-a-long-table-name-of-48-chars-x1.Order"), "\(names)")
        #expect(names.filter { $0.hasPrefix("mh_line-items-with-a-long-table-name-of-4") }.count == 1, "too long for 63 bytes: hashed, \(names)")
        // A NUL in a string field is refused before anything is sent; nothing is written.
        await #expect { try await rows.create(Awkward(id: "nul", select: 1, Order: "a\u{0}b")) } throws: {
            ($0 as? StoreError)?.code == .invalidArgument
        }
        #expect(try await rows.read("nul") == nil)
        await store.shutdown()
    }

    @Test func twoStoresUpdatingOneRowLoseNoUpdate() async throws {
        struct Tally: Model, Identifiable { var id: String; var n: Int }
        // Two pools, as two processes would have, each with several tasks racing on one row.
        let (a, server) = try await PostgresStoreTests.freshStore()
        let b = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url), scope: a.scope)
        try await a.model(Tally.self).create(Tally(id: "t", n: 0))
        let (successes, conflicts) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for store in [a, b, a, b] {
                group.addTask {
                    let tallies = store.model(Tally.self)
                    var done = 0
                    var lost = 0
                    while done < 25 {
                        guard var current = try await tallies.read("t") else { throw StoreError(.notFound, "t") }
                        current.n += 1
                        do {
                            try await tallies.update(current)
                            done += 1
                        } catch let error as StoreError where error.code == .conflict {
                            lost += 1
                        }
                    }
                    return (done, lost)
                }
            }
            return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        #expect(successes == 100)
        #expect(try await b.model(Tally.self).read("t")?.value.n == 100, "every successful update counted once (\(conflicts) conflicts)")
        await a.shutdown()
        await b.shutdown()
    }
}
