import Foundation
import Logging
import MicroCore
import NIOCore
import PostgresNIO

/// An ``MicroCore/EventStore`` on PostgreSQL (`MICRO_EVENT_STORE=postgres`,
/// `MICRO_EVENT_STORE_ADDRESS=postgres://user:password@host:port/db`), on the same pooled client as
/// ``PostgresStore``.
///
/// All topics share one table (by default `"store_micro"."ev_events"`): `seq` from the table's own
/// sequence, `topic`, `id`, `time` (ms since 1970), `metadata` (JSON text) and `payload` (bytea), unique
/// by (topic, id) — so a write of an id the topic holds stores nothing, however late — and indexed by
/// (topic, time) for reads and (topic, seq) for retention. A write is one `INSERT … ON CONFLICT DO
/// NOTHING`, safe to repeat, followed by the retention's deletes for that topic. Reads are one indexed
/// range query with the order, offset and limit in SQL. A row that is not an event (a NULL, metadata
/// that is not a JSON object of strings, an invalid topic or id) fails the read with
/// ``MicroCore/EventsError/Code/malformed``. While the server is down, operations fail with
/// ``MicroCore/EventsError/Code/unavailable`` within ``PostgresStoreConfiguration/operationTimeout``.
public final class PostgresEventStore: EventStore {
    /// Always `postgres`.
    public let name = "postgres"
    public let limits: EventLimits
    public let retention: EventRetention
    private let client: PostgresStoreClient
    private let table: PostgresStoreTable

    /// A store on the server `configuration` names, in the events table of `scope` (default: table
    /// `events` of store database `micro`). Nothing connects until the first operation; a configuration or retention out of range throws.
    public init(configuration: PostgresStoreConfiguration, scope: StoreScope? = nil, retention: EventRetention = EventRetention(),
                limits: EventLimits = EventLimits(), logger: Logger = Logger(label: "micro.eventstore.postgres")) throws {
        try configuration.validate()
        try retention.validate()
        self.client = PostgresStoreClient(configuration: configuration, logger: logger)
        self.table = PostgresStoreTable(scope: try scope ?? StoreScope(database: "micro", table: "events"), prefix: configuration.schemaPrefix,
                                        events: true)
        self.retention = retention
        self.limits = limits
    }

    /// The quoted, schema-qualified SQL name of the events table.
    public var tableName: String { table.table }

    @discardableResult
    public func write(_ event: Event) async throws -> EventReceipt {
        try limits.validate(event)
        let table = self.table
        let retention = self.retention
        let metadata = StoreMetadataCoding.encode(event.metadata)
        return try await perform("write to \(event.topic)") { client in
            try await client.withSession(table, idempotent: true) { session in
                var binds = PostgresStoreBinds()
                let sql = """
                    INSERT INTO \(table.table) (seq, topic, id, time, metadata, payload)
                    VALUES (nextval(\(table.sequence)), \(binds.add(event.topic)), \(binds.add(event.id)), \
                    \(binds.add(Event.epochMilliseconds(event.timestamp))), \(binds.add(metadata)), $5)
                    ON CONFLICT (topic, id) DO NOTHING RETURNING seq
                    """
                var query = binds.query(sql)
                query.binds.append(ByteBuffer(bytes: event.payload))
                if let row = try await session.query(query).first {
                    let sequence = try Self.sequence(row)
                    try await Self.applyRetention(retention, topic: event.topic, table: table, session)
                    return EventReceipt(id: event.id, sequence: sequence, duplicate: false)
                }
                var lookup = PostgresStoreBinds()
                let select = "SELECT seq FROM \(table.table) WHERE topic = \(lookup.add(event.topic)) AND id = \(lookup.add(event.id))"
                let existing = try await session.query(lookup.query(select))
                return EventReceipt(id: event.id, sequence: try existing.first.map(Self.sequence) ?? 0, duplicate: true)
            }
        }
    }

    public func read(_ topic: String, _ query: EventQuery) async throws -> [Event] {
        try EventTopic.validate(topic)
        try query.validate()
        let table = self.table
        let oldest = retention.oldestMilliseconds(now: Event.epochMilliseconds(Date()))
        let rows = try await perform("read \(topic)") { client in
            try await client.withSession(table, idempotent: true) { session in
                var binds = PostgresStoreBinds()
                var sql = "SELECT seq, topic, id, time, metadata, payload FROM \(table.table) WHERE topic = \(binds.add(topic))"
                let from = [query.from.map(Event.epochMilliseconds), oldest].compactMap { $0 }.max()
                if let from { sql += " AND time >= \(binds.add(from))" }
                if let to = query.to { sql += " AND time < \(binds.add(Event.epochMilliseconds(to)))" }
                let direction = query.order == .ascending ? "ASC" : "DESC"
                sql += " ORDER BY time \(direction), seq \(direction) LIMIT \(binds.add(Int64(query.limit))) OFFSET \(binds.add(Int64(query.offset)))"
                return try await session.query(binds.query(sql))
            }
        }
        return try rows.map(Self.event)
    }

    /// Closes every connection; later operations fail with ``MicroCore/EventsError/Code/unavailable``.
    public func shutdown() async {
        await client.close()
    }

    // MARK: Plumbing

    /// Runs `body`, its store errors as events errors.
    private func perform<T: Sendable>(_ context: String, _ body: (PostgresStoreClient) async throws -> T) async throws -> T {
        do {
            return try await body(client)
        } catch let error as StoreError {
            switch error.code {
            case .malformed: throw EventsError(.malformed, "\(context): \(error.detail)")
            case .tooLarge: throw EventsError(.tooLarge, "\(context): \(error.detail)")
            default: throw EventsError(.unavailable, "\(context): \(error.detail)")
            }
        }
    }

    /// Deletes the topic's events past the retention's age, then all but its latest `maxCount`.
    private static func applyRetention(_ retention: EventRetention, topic: String, table: PostgresStoreTable,
                                       _ session: PostgresStoreSession) async throws {
        if let oldest = retention.oldestMilliseconds(now: Event.epochMilliseconds(Date())) {
            var binds = PostgresStoreBinds()
            let sql = "DELETE FROM \(table.table) WHERE topic = \(binds.add(topic)) AND time < \(binds.add(oldest))"
            _ = try await session.query(binds.query(sql))
        }
        if let maxCount = retention.maxCount {
            var binds = PostgresStoreBinds()
            let t = binds.add(topic)
            let sql = """
                DELETE FROM \(table.table) WHERE topic = \(t) AND seq <= (
                    SELECT seq FROM \(table.table) WHERE topic = \(t) ORDER BY seq DESC OFFSET \(binds.add(Int64(maxCount))) LIMIT 1)
                """
            _ = try await session.query(binds.query(sql))
        }
    }

    private static func sequence(_ row: PostgresRow) throws -> UInt64 {
        guard let cell = row.first, let value = integer(cell), value > 0 else {
            throw EventsError(.malformed, "an event's seq is not a positive bigint")
        }
        return UInt64(value)
    }

    private static func integer(_ cell: PostgresCell) -> Int64? {
        guard cell.dataType == .int8 else { return nil }
        return try? cell.decode(Int64.self)
    }

    /// The event of a row `seq, topic, id, time, metadata, payload`, checked cell by cell.
    static func event(_ row: PostgresRow) throws -> Event {
        let cells = Array(row)
        guard cells.count == 6 else { throw EventsError(.malformed, "an events row has \(cells.count) columns, not 6") }
        guard let seq = integer(cells[0]), seq > 0 else { throw EventsError(.malformed, "an events row's seq is not a positive bigint") }
        func text(_ cell: PostgresCell, _ what: String) throws -> String {
            guard let bytes = cell.bytes, cell.dataType == .text || cell.dataType == .varchar else {
                throw EventsError(.malformed, "event #\(seq): \(what) is not text")
            }
            return String(decoding: bytes.readableBytesView, as: UTF8.self)
        }
        let topic = try text(cells[1], "the topic")
        let id = try text(cells[2], "the id")
        guard let time = integer(cells[3]) else { throw EventsError(.malformed, "event #\(seq): the time is not a bigint") }
        let json = try text(cells[4], "the metadata")
        guard let payload = cells[5].bytes, cells[5].dataType == .bytea else {
            throw EventsError(.malformed, "event #\(seq): the payload is not bytea")
        }
        let metadata: [String: String]
        do {
            metadata = try StoreMetadataCoding.decode(Array(json.utf8), key: id)
        } catch {
            throw EventsError(.malformed, "event #\(seq): the metadata is not a JSON object of strings")
        }
        var event = Event(topic: topic, payload: Array(payload.readableBytesView), metadata: metadata, id: id,
                          timestamp: Date(timeIntervalSince1970: Double(time) / 1000))
        do {
            try EventTopic.validate(topic)
            guard !id.isEmpty else { throw EventsError(.malformed, "an empty id") }
        } catch let error as EventsError {
            throw EventsError(.malformed, "event #\(seq): \(error.detail)")
        }
        event.sequence = UInt64(seq)
        return event
    }
}
