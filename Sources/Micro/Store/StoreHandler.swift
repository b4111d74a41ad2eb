import Foundation
import MicroCore
import SwiftProtobuf

/// go-micro's store service (`go.micro.store`) over any ``Store``: the endpoints `Store.Read`,
/// `Store.Write`, `Store.Delete`, `Store.List` (a server stream), `Store.Databases` and
/// `Store.Tables`, in protobuf or proto3 JSON, so go-micro's store client, ``RemoteStore``
/// (`MICRO_STORE=service`) and `micro store` reach a store in another process.
///
/// Register it on any service: `service.register(StoreHandler(store: service.store))`; a service
/// named ``serviceName`` is the one go-micro's clients and `micro store` look for
/// (`micro store serve` runs one).
///
/// go-micro's semantics: a read of one key that is not there is 404; `ReadOptions.prefix` and
/// `suffix` make the key a prefix or suffix; a limit of 0 is no limit; an empty database or table is
/// the `Micro-Database` / `Micro-Table` metadata, else the store's own scope. Swift Micro's extensions
/// (fields from 1001: revisions, conditions, exact expiry) are read from every request, but answered
/// only to callers that send the metadata ``extensionsHeader`` (``RemoteStore`` does): go-micro's JSON
/// decoders refuse unknown fields. Failures are ``StoreError``s as ``MicroError``s: 404, 409, 400, 413, 503.
public struct StoreHandler: EndpointGroup {
    /// The name go-micro's store clients call: `go.micro.store`.
    public static let serviceName = "go.micro.store"
    /// The most key, value and metadata bytes one `Store.Read` answers with (default 2 MiB, which
    /// fits the transports' 4 MiB messages in JSON too); a larger result is 413, to be read with a limit.
    public static let defaultMaxReadBytes = 2 << 20
    /// The metadata a caller sends (any value) to be answered with Swift Micro's extension fields.
    public static let extensionsHeader = "Micro-Store-Extensions"
    /// Keys per `Store.List` message.
    static let keysPerMessage = 1000

    /// The store served; requests name other databases and tables of it.
    public let store: any Store
    /// The most bytes of records one read answers with.
    public let maxReadBytes: Int

    /// A handler serving `store`.
    public init(store: any Store, maxReadBytes: Int = StoreHandler.defaultMaxReadBytes) {
        self.store = store
        self.maxReadBytes = max(0, maxReadBytes)
    }

    public func registerEndpoints(on router: Router) {
        let handler = self
        router.handle("Store.Read") { (request: Go_Micro_Store_ReadRequest, context) in
            try await handler.read(request, context)
        }
        router.handle("Store.Write") { (request: Go_Micro_Store_WriteRequest, context) in
            try await handler.write(request, context)
        }
        router.handle("Store.Delete") { (request: Go_Micro_Store_DeleteRequest, context) in
            try await handler.delete(request, context)
        }
        router.handle("Store.List") { (request: Go_Micro_Store_ListRequest, stream: ServerStream<Go_Micro_Store_ListResponse>, context) in
            try await handler.list(request, stream, context)
        }
        router.handle("Store.Databases") { (_: Go_Micro_Store_DatabasesRequest, _) in
            let databases = try await handler.store.databases()
            return Go_Micro_Store_DatabasesResponse.with { $0.databases = databases }
        }
        router.handle("Store.Tables") { (request: Go_Micro_Store_TablesRequest, context) in
            let tables = try await handler.scoped(database: request.database, table: "", context).tables()
            return Go_Micro_Store_TablesResponse.with { $0.tables = tables }
        }
    }

    // MARK: Endpoints

    func read(_ request: Go_Micro_Store_ReadRequest, _ context: HandlerContext) async throws -> Go_Micro_Store_ReadResponse {
        let options = request.options
        let store = try scoped(database: options.database, table: options.table, context)
        let now = StoreClock.nowMilliseconds()
        guard options.prefix || options.suffix else {
            guard let record = try await store.read(request.key) else {
                throw StoreError(.notFound, "'\(StoreKey.printable(request.key))' not found in \(store.scope)")
            }
            return .with { $0.records = [Self.answer(StoreWire.message(record, now: now), context)] }
        }
        let suffix = options.suffixKey.isEmpty ? request.key : options.suffixKey
        let query = StoreQuery(prefix: options.prefix ? request.key : "", suffix: options.suffix ? suffix : "",
                               limit: options.limit == 0 ? nil : StoreWire.count(options.limit), offset: StoreWire.count(options.offset))
        let records = try await store.read(query)
        var bytes = 0
        for record in records {
            bytes += record.key.utf8.count + record.value.count
            for (name, value) in record.metadata { bytes += name.utf8.count + value.utf8.count }
            guard bytes <= maxReadBytes else {
                throw StoreError(.tooLarge, "the \(records.count) records read hold more than \(maxReadBytes) bytes; read fewer with a limit")
            }
        }
        return .with { $0.records = records.map { Self.answer(StoreWire.message($0, now: now), context) } }
    }

    func write(_ request: Go_Micro_Store_WriteRequest, _ context: HandlerContext) async throws -> Go_Micro_Store_WriteResponse {
        guard request.hasRecord else { throw StoreError(.invalidArgument, "no record specified") }
        let options = request.options
        let store = try scoped(database: options.database, table: options.table, context)
        let record = request.record
        let ttl = try Self.ttl(options: options, record: record)
        var condition = StoreCondition.always
        switch options.condition.condition {
        case .ifAbsent(let yes)?: if yes { condition = .ifAbsent }
        case .ifRevision(let revision)?: condition = .ifRevision(revision)
        case nil: break
        }
        var metadata: [String: String] = [:]
        for (name, field) in record.metadata { metadata[name] = field.value }
        let revision = try await store.write(StoreWrite(key: record.key, value: Array(record.value), metadata: metadata, ttl: ttl,
                                                        condition: condition))
        return .with { if Self.extended(context) { $0.revision = revision } }
    }

    func delete(_ request: Go_Micro_Store_DeleteRequest, _ context: HandlerContext) async throws -> Go_Micro_Store_DeleteResponse {
        let options = request.options
        let store = try scoped(database: options.database, table: options.table, context)
        var ifRevision: UInt64?
        switch options.condition.condition {
        case .ifAbsent(let yes)?:
            if yes { throw StoreError(.invalidArgument, "a delete's condition can only be if_revision, not if_absent") }
        case .ifRevision(let revision)?: ifRevision = revision
        case nil: break
        }
        let deleted = try await store.delete(request.key, ifRevision: ifRevision)
        return .with { if Self.extended(context) { $0.deleted = deleted } }
    }

    func list(_ request: Go_Micro_Store_ListRequest, _ stream: ServerStream<Go_Micro_Store_ListResponse>, _ context: HandlerContext) async throws {
        let options = request.options
        let store = try scoped(database: options.database, table: options.table, context)
        let keys = try await store.list(StoreQuery(prefix: options.prefix, suffix: options.suffix,
                                                   limit: options.limit == 0 ? nil : StoreWire.count(options.limit),
                                                   offset: StoreWire.count(options.offset)))
        var start = 0
        repeat {
            let end = min(keys.count, start + Self.keysPerMessage)
            try await stream.send(.with { $0.keys = Array(keys[start..<end]) })
            start = end
        } while start < keys.count
    }

    // MARK: Helpers

    /// Whether the caller asked for Swift Micro's extension fields.
    static func extended(_ context: HandlerContext) -> Bool {
        context.metadata[extensionsHeader] != nil
    }

    /// `record` as the caller gets it: without the extension fields unless it asked for them.
    static func answer(_ record: Go_Micro_Store_Record, _ context: HandlerContext) -> Go_Micro_Store_Record {
        guard !extended(context) else { return record }
        var plain = record
        plain.revision = 0
        plain.expiresAtMs = 0
        return plain
    }

    /// The store bound to the request's database and table: the request's, else the caller's
    /// `Micro-Database` / `Micro-Table` metadata (go-micro's store client sends them), else the store's own.
    func scoped(database: String, table: String, _ context: HandlerContext) throws -> any Store {
        func pick(_ given: String, _ header: String, _ fallback: String) -> String {
            if !given.isEmpty { return given }
            if let value = context.metadata[header], !value.isEmpty { return value }
            return fallback
        }
        return store.scoped(try StoreScope(database: pick(database, "Micro-Database", store.scope.database),
                                           table: pick(table, "Micro-Table", store.scope.table)))
    }

    /// A write's lifetime as go-micro orders them: `ttl` (nanoseconds), else `expiry` (seconds since
    /// 1970), else the record's `expiry` (seconds); nil when none is set.
    static func ttl(options: Go_Micro_Store_WriteOptions, record: Go_Micro_Store_Record) throws -> Duration? {
        guard options.ttl >= 0, options.expiry >= 0, record.expiry >= 0 else {
            throw StoreError(.invalidArgument, "a TTL or expiry may not be negative (ttl \(options.ttl), expiry \(options.expiry), record expiry \(record.expiry))")
        }
        if options.ttl > 0 { return .nanoseconds(options.ttl) }
        if options.expiry > 0 {
            let (ms, overflow) = options.expiry.multipliedReportingOverflow(by: 1000)
            let left = overflow ? Int64.max : ms - StoreClock.nowMilliseconds()
            guard left > 0 else { throw StoreError(.invalidArgument, "the expiry \(options.expiry) (seconds since 1970) has passed") }
            return .milliseconds(left)
        }
        if record.expiry > 0 { return .seconds(record.expiry) }
        return nil
    }

}
