/// Where shared configuration lives (go-micro's `source.Source`): JSON documents under paths,
/// read whole, watched, and written by operators (`micro config set`).
///
/// Implementations: ``MemoryConfigSource`` (in process) and engine modules (etcd under a key prefix,
/// NATS JetStream key-value, Consul KV). A source is an ``Engine``: its connections and watches end
/// with it. What it returns is untrusted: ``ConfigTree/merge(_:limits:)`` checks it.
public protocol ConfigSource: Engine {
    /// The source's name as `MICRO_CONFIG` spells it (`memory`, `etcd`, ...).
    var name: String { get }
    /// Every document now; throws ``ConfigError/Code/unavailable`` when the source cannot be reached.
    func entries() async throws -> [ConfigEntry]
    /// Every document now, then again after each change, until the consumer stops; the sequence
    /// throws (or ends) when the source is lost, and a consumer watches again to resume.
    func watch() async throws -> ConfigWatch
    /// Stores `document` at `path`, replacing what was there; throws ``ConfigError`` when the
    /// document is not JSON within the default ``ConfigLimits`` (nothing is written then).
    func put(_ path: ConfigPath, document: [UInt8]) async throws
    /// Removes the document at `path`: true when there was one.
    func delete(_ path: ConfigPath) async throws -> Bool
}

/// The document sets a ``ConfigSource`` reports, as an async sequence.
public typealias ConfigWatch = any AsyncSequence<[ConfigEntry], any Error> & Sendable

extension ConfigEntry {
    /// Throws the ``ConfigError`` that merging this document alone into a tree would (what a source
    /// checks before it writes).
    public func validate(_ limits: ConfigLimits = ConfigLimits()) throws(ConfigError) {
        _ = try ConfigTree.merge([self], limits: limits)
    }
}
