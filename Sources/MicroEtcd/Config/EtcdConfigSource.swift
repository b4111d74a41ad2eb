import EtcdClient
import Logging
import MicroCore

/// A ``MicroCore/ConfigSource`` on etcd (`MICRO_CONFIG=etcd`), in go-micro's etcd source layout:
/// each key under the prefix (`/micro/config` by default, `MICRO_CONFIG_PREFIX`) holds a JSON
/// document, merged at the key's path below the prefix (`/micro/config/greeter` at `greeter`,
/// `/micro/config/a/b` at `a.b`, the prefix itself at the root), so Go and Swift services share one
/// configuration.
///
/// ``watch()`` reads the prefix once and then follows etcd's watch from the next revision, applying
/// each batch of events to what it read, so every set it yields is one revision of etcd. A watch
/// survives the loss of a member; it ends (and a ``ConfigSourceProvider`` reads and watches again)
/// when history it needs was compacted.
public final class EtcdConfigSource: ConfigSource {
    /// Always `etcd`.
    public let name = "etcd"
    /// The key prefix, without a trailing `/`.
    public var prefix: String { layout.prefix }
    private let layout: ConfigKeyLayout
    /// The client, which others may share.
    public let client: EtcdConnection
    private let ownsClient: Bool

    /// The default prefix (go-micro's).
    public static let defaultPrefix = "/micro/config"

    /// A source on `client`, which others may share; ``shutdown()`` leaves it open.
    public init(client: EtcdConnection, prefix: String = EtcdConfigSource.defaultPrefix) {
        self.client = client
        layout = ConfigKeyLayout(prefix: prefix)
        self.ownsClient = false
    }

    /// A source with a client of its own on the members in a comma-separated list (nil or empty:
    /// `127.0.0.1:2379`), closed by ``shutdown()``.
    public init(addresses: String?, prefix: String = EtcdConfigSource.defaultPrefix, logger: Logger = Logger(label: "micro.config.etcd")) throws {
        client = try EtcdConnection(configuration: EtcdConfiguration(addresses: addresses), logger: logger)
        layout = ConfigKeyLayout(prefix: prefix)
        ownsClient = true
    }

    /// The etcd key of `path`: the prefix for the root, else the prefix and the components joined by `/`.
    public func key(_ path: ConfigPath) -> String {
        layout.key(path)
    }

    public func entries() async throws -> [ConfigEntry] {
        try await read().entries
    }

    private func read() async throws -> (entries: [ConfigEntry], revision: Int64, documents: [[UInt8]: [UInt8]]) {
        let result: EtcdRangeResult
        do {
            result = try await client.rangeAll(.prefix(prefix))
        } catch {
            throw ConfigError(.unavailable, "etcd: \(error)")
        }
        var documents: [[UInt8]: [UInt8]] = [:]
        for kv in result.kvs { documents[kv.key] = kv.value }
        return (entries(documents), result.revision, documents)
    }

    func entries(_ documents: [[UInt8]: [UInt8]]) -> [ConfigEntry] {
        layout.entries(documents.lazy.map { (String(decoding: $0.key, as: UTF8.self), $0.value) })
    }

    public func watch() async throws -> ConfigWatch {
        let first = try await read()
        let events = client.watch(.prefix(prefix), fromRevision: first.revision + 1)
        return EtcdConfigWatch(source: self, first: first.entries, documents: first.documents, events: events)
    }

    public func put(_ path: ConfigPath, document: [UInt8]) async throws {
        try ConfigEntry(path: path, document: document).validate()
        do {
            _ = try await client.put(key(path), value: document)
        } catch {
            throw ConfigError(.unavailable, "etcd: \(error)")
        }
    }

    public func delete(_ path: ConfigPath) async throws -> Bool {
        do {
            return try await client.delete(.key(key(path))).deleted > 0
        } catch {
            throw ConfigError(.unavailable, "etcd: \(error)")
        }
    }

    /// Closes a client of its own (its watches end).
    public func shutdown() async {
        if ownsClient { await client.shutdown() }
    }
}

/// The document sets of one etcd watch: what was read, then the same after each batch of events.
struct EtcdConfigWatch: AsyncSequence, Sendable {
    let source: EtcdConfigSource
    let first: [ConfigEntry]
    let documents: [[UInt8]: [UInt8]]
    let events: EtcdWatch

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: EtcdConfigSource
        var first: [ConfigEntry]?
        var documents: [[UInt8]: [UInt8]]
        var events: EtcdWatch.AsyncIterator

        mutating func next() async throws -> [ConfigEntry]? {
            if let first {
                self.first = nil
                return first
            }
            guard let response = try await events.next() else { return nil }
            for event in response.events {
                switch event.kind {
                case .put: documents[event.kv.key] = event.kv.value
                case .delete: documents[event.kv.key] = nil
                }
            }
            return source.entries(documents)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source, first: first, documents: documents, events: events.makeAsyncIterator())
    }
}
