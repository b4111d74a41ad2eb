import MicroCore
import Testing

@Suite struct StoreErrorTests {
    @Test func everyCodeSurvivesTheTripThroughAMicroError() {
        for code in StoreError.Code.all {
            let error = StoreError(code, "detail: with a colon")
            #expect(StoreError(error.microError) == error, "\(code)")
        }
        #expect(StoreError(.unsupported, "x").microError.code == 501)
        // A go-micro store service's errors: the code from the status.
        #expect(StoreError(MicroError.notFound("go.micro.store", "not found")).code == .notFound)
        #expect(StoreError(MicroError.internalServerError("go.micro.store", "boom")).code == .unavailable)
    }

    @Test func memoryStoreListsTheDatabasesAndTablesWrittenTo() async throws {
        let store = MemoryStore()
        _ = try store.scoped(database: "never", table: "read")   // scoped but never written
        try await store.scoped(database: "b", table: "t2").write("k", bytes: [1])
        try await store.scoped(database: "b", table: "t1").write("k", bytes: [1])
        try await store.scoped(database: "a", table: "t").write("k", bytes: [1])
        #expect(try await store.databases() == ["a", "b"])
        #expect(try await store.scoped(database: "b", table: "x").tables() == ["t1", "t2"])
        #expect(try await store.tables() == [])
    }
}
