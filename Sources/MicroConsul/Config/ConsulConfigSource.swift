import ConsulClient
import Logging
import MicroCore

/// A ``MicroCore/ConfigSource`` on Consul's key-value store (`MICRO_CONFIG=consul`, `MICRO_CONFIG_ADDRESS`
/// the agents): go-micro's Consul source layout, each key under the prefix (`micro/config` by default,
/// `MICRO_CONFIG_PREFIX`) holding a JSON document merged at the key's path below the prefix.
///
/// ``watch()`` reads the prefix and then follows it with blocking queries (the agent answers when the
/// store's index moves, or after the client's blocking wait), yielding the whole set after each change.
public final class ConsulConfigSource: ConfigSource {
    /// Always `consul`.
    public let name = "consul"
    /// The key prefix, without leading or trailing `/`.
    public var prefix: String { layout.prefix }
    private let layout: ConfigKeyLayout
    /// The agent client.
    public let client: ConsulAgentClient
    private let ownsClient: Bool

    /// The default prefix (go-micro's, without its leading `/`, as Consul keys have none).
    public static let defaultPrefix = "micro/config"

    /// A source on `client`, which others may share; ``shutdown()`` leaves it open.
    public init(client: ConsulAgentClient, prefix: String = ConsulConfigSource.defaultPrefix) {
        self.client = client
        layout = ConfigKeyLayout(prefix: String(prefix.drop { $0 == "/" }))
        ownsClient = false
    }

    /// A source with a client of its own on the agents of a comma-separated list (nil or empty:
    /// `127.0.0.1:8500`), closed by ``shutdown()``.
    public init(addresses: String?, prefix: String = ConsulConfigSource.defaultPrefix, logger: Logger = Logger(label: "micro.config.consul")) {
        client = ConsulAgentClient(configuration: ConsulAgentConfiguration(addresses: addresses), logger: logger)
        layout = ConfigKeyLayout(prefix: String(prefix.drop { $0 == "/" }))
        ownsClient = true
    }

    /// The Consul key of `path`: the prefix for the root, else the prefix and the components joined by `/`.
    public func key(_ path: ConfigPath) -> String {
        layout.key(path)
    }

    func entries(_ keys: [ConsulKeyValue]) -> [ConfigEntry] {
        layout.entries(keys.lazy.map { ($0.key, $0.value) })
    }

    func read(index: UInt64) async throws -> ConsulAgentClient.Indexed<[ConsulKeyValue]> {
        do {
            return try await client.keyValues(prefix: prefix, index: index)
        } catch {
            throw ConfigError(.unavailable, "consul: \(error)")
        }
    }

    public func entries() async throws -> [ConfigEntry] {
        entries(try await read(index: 0).value)
    }

    public func watch() async throws -> ConfigWatch {
        let first = try await read(index: 0)
        return ConsulConfigWatch(source: self, first: entries(first.value), index: first.index)
    }

    public func put(_ path: ConfigPath, document: [UInt8]) async throws {
        try ConfigEntry(path: path, document: document).validate()
        do {
            try await client.putKeyValue(key(path), value: document)
        } catch {
            throw ConfigError(.unavailable, "consul: \(error)")
        }
    }

    public func delete(_ path: ConfigPath) async throws -> Bool {
        let existed = try await read(index: 0).value.contains { $0.key == key(path) }
        do {
            try await client.deleteKeyValue(key(path))
        } catch {
            throw ConfigError(.unavailable, "consul: \(error)")
        }
        return existed
    }

    /// Closes a client of its own.
    public func shutdown() async {
        if ownsClient { await client.shutdown() }
    }
}

/// The document sets of one Consul watch: what was read, then the set after each index change.
struct ConsulConfigWatch: AsyncSequence, Sendable {
    let source: ConsulConfigSource
    let first: [ConfigEntry]
    let index: UInt64

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: ConsulConfigSource
        var first: [ConfigEntry]?
        var index: UInt64

        mutating func next() async throws -> [ConfigEntry]? {
            if let first {
                self.first = nil
                return first
            }
            while true {
                try Task.checkCancellation()
                let answer = try await source.read(index: Swift.max(1, index))
                // An index that went backwards (a restored snapshot) starts over, as Consul's docs say.
                let moved = answer.index != index
                index = answer.index < index ? 0 : answer.index
                if moved { return source.entries(answer.value) }
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source, first: first, index: index)
    }
}
