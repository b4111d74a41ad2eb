import Foundation
import MicroCore
import SwiftProtobuf
import NIOConcurrencyHelpers

/// A store in another process, reached through a store service (`go.micro.store`: ``StoreHandler``, or
/// go-micro's) with a ``Client``: `MICRO_STORE=service`.
///
/// Arguments are validated here with the shared rules (and ``limits``) before any call, so a bad key
/// costs no round trip; the service validates again against its own store's limits. Calls are in
/// protobuf. A write or delete is retried on another node only when it could not be sent at all
/// (a retry after a lost answer could apply it twice). The service's errors come back as the
/// ``StoreError`` it raised; a service that cannot be found or reached is ``StoreError/Code/unavailable``.
/// Against go-micro's store service, which knows no revisions or conditions, revisions read as 0 and
/// conditions are ignored.
public final class RemoteStore: Store {
    /// Always `service`.
    public let name = "service"
    public let scope: StoreScope
    public let limits: StoreLimits
    /// The store service called.
    public let service: String
    private let shared: Shared

    /// What every scope of one remote store shares: the client, the call options, whether it is shut down.
    private final class Shared: Sendable {
        let client: Client
        let owned: Bool
        let reads: CallOptions
        let writes: CallOptions
        let closed = NIOLockedValueBox(false)

        init(client: Client, owned: Bool, options: CallOptions) {
            self.client = client
            self.owned = owned
            var reads = options
            reads.contentType = "application/protobuf"
            reads.metadata[StoreHandler.extensionsHeader] = "1"
            self.reads = reads
            var writes = reads
            writes.shouldRetry = { error in (error as? TransportError)?.code == .connectFailed }
            self.writes = writes
        }
    }

    /// A store calling `service` through `client` (which stays the caller's to shut down), bound to
    /// `scope`, validating writes against `limits` (the default store's unless given). `options`
    /// (default: the client's) set the timeout and retries; the content type is always protobuf.
    public convenience init(client: Client, service: String = StoreHandler.serviceName, scope: StoreScope = .default,
                            limits: StoreLimits = StoreLimits(), options: CallOptions? = nil) {
        self.init(shared: Shared(client: client, owned: false, options: options ?? client.defaults), service: service,
                  scope: scope, limits: limits)
    }

    /// A store that owns `client`: shutting the store down shuts the client down.
    package convenience init(owning client: Client, service: String = StoreHandler.serviceName, scope: StoreScope = .default,
                             limits: StoreLimits = StoreLimits()) {
        self.init(shared: Shared(client: client, owned: true, options: client.defaults), service: service, scope: scope, limits: limits)
    }

    private init(shared: Shared, service: String, scope: StoreScope, limits: StoreLimits) {
        self.shared = shared
        self.service = service
        self.scope = scope
        self.limits = limits
    }

    public func scoped(_ scope: StoreScope) -> any Store {
        RemoteStore(shared: shared, service: service, scope: scope, limits: limits)
    }

    /// Later operations fail with ``StoreError/Code/unavailable``; a client the store made is shut down.
    public func shutdown() async {
        let first = shared.closed.withLockedValue { closed in
            defer { closed = true }
            return !closed
        }
        if first && shared.owned { await shared.client.shutdown() }
    }

    // MARK: Operations

    public func read(_ key: String) async throws -> StoreRecord? {
        try StoreKey.validate(key)
        let request = Go_Micro_Store_ReadRequest.with {
            $0.key = key
            $0.options = readOptions()
        }
        do {
            let response: Go_Micro_Store_ReadResponse = try await call("Store.Read", request, shared.reads)
            let now = StoreClock.nowMilliseconds()
            return response.records.first { StoreKey.same($0.key, key) }.map { StoreWire.record($0, now: now) }
        } catch let error as StoreError where error.code == .notFound {
            return nil
        }
    }

    public func read(_ query: StoreQuery) async throws -> [StoreRecord] {
        try query.validate()
        if query.limit == 0 { try checkOpen(); return [] }   // go-micro's limit 0 is no limit
        let request = Go_Micro_Store_ReadRequest.with {
            var options = readOptions()
            options.limit = UInt64(query.limit ?? 0)
            options.offset = UInt64(query.offset)
            if !query.prefix.isEmpty {
                $0.key = query.prefix
                options.prefix = true
                if !query.suffix.isEmpty {
                    options.suffix = true
                    if !StoreKey.same(query.suffix, query.prefix) { options.suffixKey = query.suffix }
                }
            } else if !query.suffix.isEmpty {
                $0.key = query.suffix
                options.suffix = true
            } else {
                options.prefix = true   // the empty prefix: every record
            }
            $0.options = options
        }
        let response: Go_Micro_Store_ReadResponse = try await call("Store.Read", request, shared.reads)
        let now = StoreClock.nowMilliseconds()
        return response.records.map { StoreWire.record($0, now: now) }
    }

    public func write(_ write: StoreWrite) async throws -> UInt64 {
        try write.validate(limits)
        let request = Go_Micro_Store_WriteRequest.with {
            $0.record.key = write.key
            $0.record.value = Data(write.value)
            for (name, value) in write.metadata {
                $0.record.metadata[name] = Go_Micro_Store_Field.with { $0.type = "string"; $0.value = value }
            }
            $0.options.database = scope.database
            $0.options.table = scope.table
            if let ttl = write.ttl {
                $0.options.ttl = StoreWire.nanoseconds(ttl)
                $0.record.expiry = StoreWire.seconds(ttl)   // what go-micro's own store service reads
            }
            if let condition = StoreWire.message(write.condition) { $0.options.condition = condition }
        }
        let response: Go_Micro_Store_WriteResponse = try await call("Store.Write", request, shared.writes)
        return response.revision
    }

    public func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
        try StoreKey.validate(key)
        let request = Go_Micro_Store_DeleteRequest.with {
            $0.key = key
            $0.options.database = scope.database
            $0.options.table = scope.table
            if let ifRevision { $0.options.condition.ifRevision = ifRevision }
        }
        let response: Go_Micro_Store_DeleteResponse = try await call("Store.Delete", request, shared.writes)
        return response.deleted
    }

    public func list(_ query: StoreQuery) async throws -> [String] {
        try query.validate()
        if query.limit == 0 { try checkOpen(); return [] }
        let request = Go_Micro_Store_ListRequest.with {
            $0.options.database = scope.database
            $0.options.table = scope.table
            $0.options.prefix = query.prefix
            $0.options.suffix = query.suffix
            $0.options.limit = UInt64(query.limit ?? 0)
            $0.options.offset = UInt64(query.offset)
        }
        try checkOpen()
        do {
            var keys: [String] = []
            for try await response in shared.client.stream(service, "Store.List", request, of: Go_Micro_Store_ListResponse.self,
                                                            options: shared.reads) {
                keys.append(contentsOf: response.keys)
            }
            return keys
        } catch {
            throw storeError(error)
        }
    }

    public func databases() async throws -> [String] {
        let response: Go_Micro_Store_DatabasesResponse = try await call("Store.Databases", Go_Micro_Store_DatabasesRequest(), shared.reads)
        return response.databases
    }

    public func tables() async throws -> [String] {
        let request = Go_Micro_Store_TablesRequest.with { $0.database = scope.database }
        let response: Go_Micro_Store_TablesResponse = try await call("Store.Tables", request, shared.reads)
        return response.tables
    }

    // MARK: Calling

    private func readOptions() -> Go_Micro_Store_ReadOptions {
        .with {
            $0.database = scope.database
            $0.table = scope.table
        }
    }

    private func checkOpen() throws {
        if shared.closed.withLockedValue({ $0 }) { throw StoreError(.unavailable, "the remote store of \(service) is shut down") }
    }

    private func call<Request: Sendable, Response: Sendable>(_ endpoint: String, _ request: Request, _ options: CallOptions) async throws -> Response {
        try checkOpen()
        do {
            return try await shared.client.call(service, endpoint, request, as: Response.self, options: options)
        } catch {
            throw storeError(error)
        }
    }

    /// A failed call as a store error: the service's own (its code told by ``StoreError/init(_:)``),
    /// or `unavailable` when the service could not be found, reached or understood.
    private func storeError(_ error: any Error) -> any Error {
        if error is StoreError || error is CancellationError { return error }
        guard let micro = error as? MicroError else { return StoreError(.unavailable, "store service \(service): \(error)") }
        if micro.id.hasPrefix("go.micro.client") || micro.id == "go.micro.codec" {
            return StoreError(.unavailable, "store service \(service): \(micro.detail) (\(micro.code))")
        }
        if micro.code == 404, micro.detail.hasPrefix("unknown endpoint") {
            return StoreError(.unsupported, "store service \(service): \(micro.detail)")
        }
        return StoreError(micro)
    }
}
