import MicroCore

extension StoreCheck {
    static let scopes: [StoreCheck] = [
        StoreCheck("scopes are isolated: tables and databases") { c in
            let base = c.store.scope
            let otherTable = c.store.scoped(try StoreScope(database: base.database, table: base.table + "-b"))
            let otherDatabase = c.store.scoped(try StoreScope(database: base.database + "-b", table: base.table))
            try c.expectEqual(otherTable.scope.table, base.table + "-b", "scoped store's table")
            try await c.store.write("k", bytes: [1])
            try await otherTable.write("k", bytes: [2])
            try await otherDatabase.write("k", bytes: [3])
            try await otherTable.write("only-b", bytes: [4])
            try c.expectEqual(try await c.store.read("k")?.value, [1], "base scope's value")
            try c.expectEqual(try await otherTable.read("k")?.value, [2], "other table's value")
            try c.expectEqual(try await otherDatabase.read("k")?.value, [3], "other database's value")
            try c.expectKeys(try await c.store.list(), ["k"], "base scope lists only its own")
            try c.expectKeys(try await otherTable.list(), ["k", "only-b"], "other table lists only its own")
            try c.expect(try await c.store.read("only-b") == nil, "a key of another table is not read")
            try await otherTable.delete("k")
            try c.expectEqual(try await c.store.read("k")?.value, [1], "delete in another table leaves this one")
            try c.expectEqual(try await otherDatabase.read("k")?.value, [3], "and the other database")
            let sameByOtherCase = c.store.scoped(try StoreScope(database: base.database.uppercased(), table: base.table.uppercased()))
            try c.expectEqual(try await sameByOtherCase.read("k")?.value, [1], "names are case-insensitive")
            let viaHelper = try c.store.scoped(table: base.table + "-b")
            try c.expectKeys(try await viaHelper.list(), ["only-b"], "scoped(table:) keeps the database")
        },
    ]
}

extension StoreCheck {
    static let listing: [StoreCheck] = [
        StoreCheck("databases() and tables() list the written scopes, in order") { c in
            let base = c.store.scope
            let otherTable = c.store.scoped(try StoreScope(database: base.database, table: base.table + "-b"))
            let otherDatabase = c.store.scoped(try StoreScope(database: base.database + "-b", table: base.table + "-c"))
            try await c.store.write("k", bytes: [1])
            try await otherTable.write("k", bytes: [2])
            try await otherDatabase.write("k", bytes: [3])
            let databases = try await c.store.databases()
            try c.expect(databases.contains(base.database) && databases.contains(base.database + "-b"), "databases: got \(databases)")
            try c.expectKeys(databases, StoreCheckContext.byteOrder(databases), "databases in order")
            try c.expectEqual(Set(databases).count, databases.count, "databases listed once each")
            let tables = try await c.store.tables()
            try c.expect(tables.contains(base.table) && tables.contains(base.table + "-b"), "tables: got \(tables)")
            try c.expect(!tables.contains(base.table + "-c"), "another database's table is not listed: got \(tables)")
            try c.expectKeys(tables, StoreCheckContext.byteOrder(tables), "tables in order")
            let otherTables = try await otherDatabase.tables()
            try c.expect(otherTables.contains(base.table + "-c") && !otherTables.contains(base.table + "-b"), "the other database's tables: got \(otherTables)")
        },
    ]
}
