import Logging
import MicroCore
import NATSClient
import NIOCore

/// A ``MicroCore/ConfigSource`` on NATS JetStream key-value (`MICRO_CONFIG=nats`): go-micro's NATS
/// source layout, bucket `default` and key `micro_config` holding a JSON document merged at the root;
/// more documents under `micro_config/<a>/<b>` are merged at `a.b` (`MICRO_CONFIG_BUCKET`,
/// `MICRO_CONFIG_KEY` change the names). Keys of the bucket outside that layout are not read.
///
/// ``watch()`` follows the bucket with an ordered consumer: the last value of every key first, then
/// each change, each yielding the whole document set; a restarted server is noticed by missed
/// heartbeats (every second by default) and the watch goes on from the last revision it delivered.
/// The bucket is made on first write (or watch).
public final class NATSConfigSource: ConfigSource {
    /// Always `nats`.
    public let name = "nats"
    /// The bucket.
    public let bucket: String
    /// The key of the root document (others are below it, after a `/`).
    public var key: String { layout.prefix }
    private let layout: ConfigKeyLayout
    private let connection: NATSConnectionSource
    private let timeout: Duration
    /// How often an idle watch hears from the server; three missed heartbeats (a restarted server)
    /// make the watch a new consumer after the last revision it delivered.
    private let heartbeat: Duration

    /// A source that connects with `options` on first use and closes that connection on ``shutdown()``.
    /// `heartbeat`: how often an idle watch hears from the server (three missed ones: a new consumer).
    public convenience init(options: NATSOptions, bucket: String = "default", key: String = "micro_config", timeout: Duration = .seconds(5),
                            heartbeat: Duration = .seconds(1), logger: Logger = Logger(label: "micro.config.nats")) throws {
        try self.init(NATSConnectionSource(options: options, logger: logger), bucket: bucket, key: key, timeout: timeout, heartbeat: heartbeat)
    }

    /// A source on `connection`, which others may share; ``shutdown()`` leaves it open.
    public convenience init(connection: NATSConnection, bucket: String = "default", key: String = "micro_config", timeout: Duration = .seconds(5),
                            heartbeat: Duration = .seconds(1), logger: Logger = Logger(label: "micro.config.nats")) throws {
        try self.init(NATSConnectionSource(shared: connection, logger: logger), bucket: bucket, key: key, timeout: timeout, heartbeat: heartbeat)
    }

    private init(_ connection: NATSConnectionSource, bucket: String, key: String, timeout: Duration, heartbeat: Duration) throws {
        try KeyValue.validateBucket(bucket)
        try KeyValue.validateKey(key)
        self.bucket = bucket
        layout = ConfigKeyLayout(prefix: key)
        self.timeout = timeout
        self.heartbeat = heartbeat
        self.connection = connection
    }

    /// The key-value key of `path`: ``key`` for the root, else ``key`` and the components joined by `/`.
    public func kvKey(_ path: ConfigPath) -> String {
        layout.key(path)
    }

    /// Whether `kvKey` is one of this source's documents.
    func holds(_ kvKey: String) -> Bool {
        layout.components(kvKey) != nil
    }

    func entries(_ documents: [String: [UInt8]]) -> [ConfigEntry] {
        layout.entries(documents.lazy.map { ($0.key, $0.value) })
    }

    private func keyValue(creating: Bool) async throws -> KeyValue? {
        do {
            let js = JetStream(connection: try await connection.get(), options: JetStreamOptions(timeout: timeout))
            if let existing = try await js.keyValue(bucket) { return existing }
            guard creating else { return nil }
            do {
                return try await js.createKeyValue(KeyValueConfiguration(bucket: bucket))
            } catch {
                // Made meanwhile by another writer.
                if let existing = try await js.keyValue(bucket) { return existing }
                throw error
            }
        } catch {
            throw ConfigError(.unavailable, "nats: \(error)")
        }
    }

    public func entries() async throws -> [ConfigEntry] {
        guard let kv = try await keyValue(creating: false) else { return [] }
        let watch = NATSConfigWatch(source: self, watcher: try await watcher(kv))
        var iterator = watch.makeAsyncIterator()
        let entries = try await iterator.next() ?? []   // a failed watch stops its consumer itself
        await watch.watcher.stop()
        return entries
    }

    public func watch() async throws -> ConfigWatch {
        NATSConfigWatch(source: self, watcher: try await watcher(try await keyValue(creating: true)!))
    }

    private func watcher(_ kv: KeyValue) async throws -> KeyValueWatcher {
        do {
            return try await kv.watch(">", options: KeyValueWatchOptions(idleHeartbeat: heartbeat))
        } catch {
            throw ConfigError(.unavailable, "nats: \(error)")
        }
    }

    public func put(_ path: ConfigPath, document: [UInt8]) async throws {
        try ConfigEntry(path: path, document: document).validate()
        let kv = try await keyValue(creating: true)!
        do {
            _ = try await kv.put(kvKey(path), value: ByteBuffer(bytes: document))
        } catch {
            throw ConfigError(.unavailable, "nats: \(error)")
        }
    }

    public func delete(_ path: ConfigPath) async throws -> Bool {
        guard let kv = try await keyValue(creating: false) else { return false }
        do {
            guard let entry = try await kv.get(kvKey(path)) else { return false }
            _ = entry
            _ = try await kv.delete(kvKey(path))
            return true
        } catch {
            throw ConfigError(.unavailable, "nats: \(error)")
        }
    }

    /// Closes a connection of its own.
    public func shutdown() async {
        await connection.close()
    }
}

/// The document sets of one key-value watch: the initial values as one set, then one set per change.
/// The ordered consumer is stopped when the watch fails (or is cancelled); one that ends with its
/// connection needs nothing more.
struct NATSConfigWatch: AsyncSequence, Sendable {
    let source: NATSConfigSource
    let watcher: KeyValueWatcher

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: NATSConfigSource
        let watcher: KeyValueWatcher
        var events: KeyValueWatcher.AsyncIterator
        var documents: [String: [UInt8]] = [:]
        var initialDone = false

        mutating func next() async throws -> [ConfigEntry]? {
            while true {
                let event: KeyValueWatchEvent?
                do {
                    event = try await events.next()
                } catch {
                    await watcher.stop()
                    throw error
                }
                guard let event else { return nil }
                switch event {
                case .initialValuesDone:
                    initialDone = true
                    return source.entries(documents)
                case .entry(let entry):
                    guard source.holds(entry.key) else { continue }
                    if entry.operation == .put { documents[entry.key] = entry.bytes } else { documents[entry.key] = nil }
                    if initialDone { return source.entries(documents) }
                }
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source, watcher: watcher, events: watcher.makeAsyncIterator())
    }
}
