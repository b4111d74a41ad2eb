import Foundation
import Micro
import StoreConformance
import SwiftProtobuf
import Testing

/// The store service (`go.micro.store`) and `RemoteStore` (`MICRO_STORE=service`): the store contract
/// over the whole remote path, go-micro's wire semantics, and bad requests answered with typed 4xx.
/// One check at a time: the expiry check's 400 ms TTL leaves little room on a loaded machine.
@Suite(.serialized) struct StoreServiceConformanceTests {
    /// The services serving each check's remote store, by the store's identity, stopped in cleanup.
    static let served = Locked<[ObjectIdentifier: ServedStore]>([:])

    static let suite = StoreConformance(backend: "service") {
        let served = try await ServedStore.start()
        let store = served.remote()
        StoreServiceConformanceTests.served.withLock { $0[ObjectIdentifier(store)] = served }
        return store
    } cleanup: { store in
        let served = StoreServiceConformanceTests.served.withLock { $0.removeValue(forKey: ObjectIdentifier(store as AnyObject)) }
        await served?.stop()
    }

    @Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck) async throws {
        try await Self.suite.run(check)
    }
}

/// The same over gRPC: go-micro's path `/go.micro.store.Store/Read` is the proto's own full name.
/// One check at a time: 23 gRPC servers at once on a loaded 2-core machine made the 400 ms TTL of the
/// expiry check pass before its first read.
@Suite(.serialized) struct StoreServiceGRPCConformanceTests {
    static let suite = StoreConformance(backend: "service over gRPC") {
        let served = try await ServedStore.start(grpc: true)
        let store = served.remote()
        StoreServiceConformanceTests.served.withLock { $0[ObjectIdentifier(store)] = served }
        return store
    } cleanup: { store in
        let served = StoreServiceConformanceTests.served.withLock { $0.removeValue(forKey: ObjectIdentifier(store as AnyObject)) }
        await served?.stop()
    }

    @Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck) async throws {
        try await Self.suite.run(check)
    }
}

@Suite struct StoreServiceTests {
    typealias ReadRequest = Go_Micro_Store_ReadRequest
    typealias ReadResponse = Go_Micro_Store_ReadResponse
    typealias WriteRequest = Go_Micro_Store_WriteRequest
    typealias WriteResponse = Go_Micro_Store_WriteResponse
    typealias DeleteRequest = Go_Micro_Store_DeleteRequest
    typealias DeleteResponse = Go_Micro_Store_DeleteResponse

    /// Runs `body`, which must fail with a MicroError of `code`; returns it.
    @discardableResult
    func expectMicroError(_ code: Int32, _ what: String, _ body: () async throws -> Void,
                          sourceLocation: SourceLocation = #_sourceLocation) async -> MicroError? {
        do {
            try await body()
            Issue.record("\(what): succeeded, expected \(code)", sourceLocation: sourceLocation)
        } catch let error as MicroError {
            #expect(error.code == code, "\(what): \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("\(what): \(error), expected MicroError \(code)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func malformedRequestsAreTyped4xxAndTheServiceKeepsServing() async throws {
        let served = try await ServedStore.start(MemoryStore(limits: StoreLimits(maxValueBytes: 1024)))
        let client = served.client()
        let service = StoreHandler.serviceName
        func write(_ build: (inout WriteRequest) -> Void) async throws {
            let _: WriteResponse = try await client.call(service, "Store.Write", WriteRequest.with(build), as: WriteResponse.self)
        }
        do {
            let badName = await expectMicroError(400, "a database name with a space") {
                try await write { $0.record.key = "k"; $0.options.database = "a b" }
            }
            #expect(badName?.detail.contains("invalidName") == true, "\(String(describing: badName))")
            await expectMicroError(400, "a table name too long") {
                try await write { $0.record.key = "k"; $0.options.table = String(repeating: "t", count: 49) }
            }
            await expectMicroError(400, "an empty key") { try await write { $0.record.key = "" } }
            await expectMicroError(400, "a key with NUL") { try await write { $0.record.key = "a\u{0}b" } }
            await expectMicroError(400, "no record") { try await write { $0.options.table = "t" } }
            let tooLarge = await expectMicroError(413, "a value over the store's limit") {
                try await write { $0.record.key = "big"; $0.record.value = Data(count: 1025) }
            }
            #expect(tooLarge?.detail.contains("tooLarge") == true)
            await expectMicroError(400, "a negative TTL") { try await write { $0.record.key = "k"; $0.options.ttl = -1 } }
            await expectMicroError(400, "an expiry in the past") { try await write { $0.record.key = "k"; $0.options.expiry = 1000 } }
            await expectMicroError(400, "a negative record expiry") { try await write { $0.record.key = "k"; $0.record.expiry = -5 } }
            await expectMicroError(400, "a delete if absent") {
                let _: DeleteResponse = try await client.call(service, "Store.Delete", DeleteRequest.with {
                    $0.key = "k"
                    $0.options.condition.ifAbsent = true
                }, as: DeleteResponse.self)
            }
            await expectMicroError(409, "a write if revision of a missing record") {
                try await write { $0.record.key = "k"; $0.options.condition.ifRevision = 7 }
            }
            await expectMicroError(400, "a body that is not protobuf") {
                _ = try await client.callRaw(service, "Store.Write", body: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x07]))
            }
            await expectMicroError(400, "a body that is not JSON") {
                var options = client.defaults
                options.contentType = "application/json"
                _ = try await client.callRaw(service, "Store.Read", body: ByteBuffer(string: "{\"key\":"), options: options)
            }
            await expectMicroError(404, "a read of a missing key") {
                let _: ReadResponse = try await client.call(service, "Store.Read", ReadRequest.with { $0.key = "missing" }, as: ReadResponse.self)
            }
            await expectMicroError(400, "a read with an invalid suffix") {
                let _: ReadResponse = try await client.call(service, "Store.Read", ReadRequest.with {
                    $0.key = String(repeating: "k", count: 1025)
                    $0.options.suffix = true
                }, as: ReadResponse.self)
            }
            #expect(try await served.backing.list().isEmpty, "nothing was written by a refused request")
            // Still serving.
            try await write { $0.record.key = "ok"; $0.record.value = Data("fine".utf8) }
            #expect(try await served.backing.read("ok")?.value == Array("fine".utf8))
        }
        await client.shutdown()
        await served.stop()
    }

    /// go-micro's semantics on the wire: the key as prefix or suffix by flag, limit 0 as no limit, the
    /// record's expiry in seconds, TTL in nanoseconds, `Micro-Database`/`Micro-Table` metadata, and
    /// proto3 JSON as a go-micro v4+ client sends it.
    @Test func goMicroSemanticsOnTheWire() async throws {
        let served = try await ServedStore.start()
        let client = served.client()
        let service = StoreHandler.serviceName
        do {
            for key in ["user/1", "user/2", "order/1"] { try await served.backing.write(key, bytes: Array(key.utf8)) }
            let prefixed: ReadResponse = try await client.call(service, "Store.Read", ReadRequest.with {
                $0.key = "user/"
                $0.options.prefix = true
            }, as: ReadResponse.self)
            #expect(prefixed.records.map(\.key) == ["user/1", "user/2"])
            #expect(prefixed.records.allSatisfy { $0.revision > 0 })
            let suffixed: ReadResponse = try await client.call(service, "Store.Read", ReadRequest.with {
                $0.key = "/1"
                $0.options.suffix = true
                $0.options.limit = 1
                $0.options.offset = 1
            }, as: ReadResponse.self)
            #expect(suffixed.records.map(\.key) == ["user/1"])

            // go-micro's store client writes Record.expiry in seconds; WriteOptions.ttl (ns) wins over it.
            let _: WriteResponse = try await client.call(service, "Store.Write", WriteRequest.with {
                $0.record.key = "session"
                $0.record.expiry = 60
            }, as: WriteResponse.self)
            let session = try #require(try await served.backing.read("session")?.expiry)
            #expect(abs(session.timeIntervalSinceNow - 60) < 5)
            let _: WriteResponse = try await client.call(service, "Store.Write", WriteRequest.with {
                $0.record.key = "short"
                $0.record.expiry = 60
                $0.options.ttl = 2_000_000_000
            }, as: WriteResponse.self)
            let short: ReadResponse = try await client.call(service, "Store.Read", ReadRequest.with { $0.key = "short" }, as: ReadResponse.self)
            #expect(short.records.first?.expiry == 2, "remaining seconds, rounded up: \(short)")
            #expect(short.records.first.map { $0.expiresAtMs > 0 } == true)

            // The database and table from go-micro's metadata when the options leave them empty.
            var options = client.defaults
            options.metadata = ["Micro-Database": "meta", "Micro-Table": "things"]
            let _: WriteResponse = try await client.call(service, "Store.Write", WriteRequest.with { $0.record.key = "m" }, as: WriteResponse.self,
                                                         options: options)
            let meta = served.backing.scoped(try StoreScope(database: "meta", table: "things"))
            #expect(try await meta.read("m") != nil)

            // proto3 JSON, as go-micro v4+ clients send it by default.
            var json = client.defaults
            json.contentType = "application/json"
            let written = try await client.callRaw(service, "Store.Write",
                                                   body: ByteBuffer(string: #"{"record":{"key":"j","value":"aGk=","metadata":{"a":{"type":"string","value":"b"}}}}"#),
                                                   options: json)
            let revision = try JSONSerialization.jsonObject(with: Data(String(buffer: written.body).utf8)) as? [String: Any]
            #expect(revision?["revision"] != nil, "\(String(buffer: written.body))")
            // A caller that does not ask for the extensions (go-micro's, whose JSON decoders refuse
            // unknown fields) gets go-micro's fields only.
            let plain = served.client(contentType: "application/json", extensions: false)
            let plainWrite = try await plain.callRaw(service, "Store.Write", body: ByteBuffer(string: #"{"record":{"key":"p","expiry":"60"}}"#))
            #expect(String(buffer: plainWrite.body).trimmingCharacters(in: .whitespacesAndNewlines) == "{}", "\(String(buffer: plainWrite.body))")
            let plainRead = try await plain.callRaw(service, "Store.Read", body: ByteBuffer(string: #"{"key":"p"}"#))
            #expect(!String(buffer: plainRead.body).contains("revision") && !String(buffer: plainRead.body).contains("expiresAtMs"),
                    "\(String(buffer: plainRead.body))")
            #expect(String(buffer: plainRead.body).contains(#""expiry":"60""#), "\(String(buffer: plainRead.body))")
            await plain.shutdown()
            let read = try await client.callRaw(service, "Store.Read", body: ByteBuffer(string: #"{"key":"j"}"#), options: json)
            let record = (try JSONSerialization.jsonObject(with: Data(String(buffer: read.body).utf8)) as? [String: Any])?["records"] as? [[String: Any]]
            #expect(record?.first?["value"] as? String == "aGk=", "\(String(buffer: read.body))")
            #expect((record?.first?["metadata"] as? [String: Any])?["a"] != nil, "\(String(buffer: read.body))")

            // List streams the keys.
            var keys: [String] = []
            for try await response in client.stream(service, "Store.List", Go_Micro_Store_ListRequest.with { $0.options.prefix = "user/" },
                                                    of: Go_Micro_Store_ListResponse.self) {
                keys += response.keys
            }
            #expect(keys == ["user/1", "user/2"])
        }
        await client.shutdown()
        await served.stop()
    }

    @Test func databasesAndTablesOfMemoryAndSQLiteStoresThroughTheService() async throws {
        let directory = NSTemporaryDirectory() + "micro-store-service-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for backing in [MemoryStore() as any Store, SQLiteStore(directory: directory)] {
            let served = try await ServedStore.start(backing)
            let remote = served.remote()
            try await remote.scoped(database: "alpha", table: "one").write("k", bytes: [1])
            try await remote.scoped(database: "alpha", table: "two").write("k", bytes: [1])
            try await remote.scoped(database: "beta", table: "three").write("k", bytes: [1])
            #expect(try await remote.databases().filter { $0 != "micro" } == ["alpha", "beta"], "\(backing.name)")
            #expect(try await remote.scoped(database: "alpha", table: "x").tables().filter { $0 != "x" } == ["one", "two"], "\(backing.name)")
            #expect(try await remote.scoped(database: "nosuch", table: "x").tables().filter { $0 != "x" } == [], "\(backing.name)")
            await served.stop()
        }
    }

    @Test func microStoreServiceIsTheServicesStore() async throws {
        let served = try await ServedStore.start()
        // A service whose store is the store service, found in the same registry.
        let user = try MicroService(name: "user", environment: MicroEnvironment(["MICRO_STORE": "service"]), registry: served.registry,
                                    broker: MemoryBroker(), transport: (HTTPClientTransport(), HTTPServerTransport()))
        #expect(user.store.name == "service")
        let revision = try await user.store.write("shared", bytes: [7], condition: .ifAbsent)
        #expect(try await served.backing.read("shared")?.revision == revision)
        await #expect(throws: StoreError.self) { try await user.store.write("shared", bytes: [8], condition: .ifAbsent) }
        #expect(try await user.store.delete("shared", ifRevision: revision))
        #expect(try await served.backing.read("shared") == nil)
        await served.stop()
        // With the service gone: unavailable, not a crash or a hang.
        await #expect { try await user.store.read("shared") } throws: { ($0 as? StoreError)?.code == .unavailable }
        await user.client.shutdown()
    }
}

