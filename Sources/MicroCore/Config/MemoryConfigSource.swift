import NIOConcurrencyHelpers

/// Configuration documents held in this process's memory: for tests and single-process programs.
public final class MemoryConfigSource: ConfigSource {
    /// Always `memory`.
    public let name = "memory"
    private struct State {
        var documents: [[String]: [UInt8]] = [:]
        var watchers: [Int: AsyncThrowingStream<[ConfigEntry], any Error>.Continuation] = [:]
        var nextWatcher = 0

        var entries: [ConfigEntry] { documents.map { ConfigEntry(components: $0.key, document: $0.value) }.sorted { $0.components.lexicographicallyPrecedes($1.components) } }
    }
    private let state = NIOLockedValueBox(State())

    /// A source holding `entries`.
    public init(_ entries: [ConfigEntry] = []) {
        state.withLockedValue { s in
            for entry in entries { s.documents[entry.components] = entry.document }
        }
    }

    public func entries() async throws -> [ConfigEntry] {
        state.withLockedValue { $0.entries }
    }

    public func watch() async throws -> ConfigWatch {
        let (stream, continuation) = AsyncThrowingStream<[ConfigEntry], any Error>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLockedValue { s in
            let id = s.nextWatcher
            s.nextWatcher += 1
            s.watchers[id] = continuation
            continuation.yield(s.entries)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    public func put(_ path: ConfigPath, document: [UInt8]) async throws {
        try ConfigEntry(path: path, document: document).validate()
        update { $0[path.components] = document }
    }

    /// Stores a document at a path without checking either (what a misbehaving writer of a shared
    /// source could do), so tests can show that readers refuse it; nil removes it.
    public func putUnchecked(_ components: [String], document: [UInt8]?) {
        update { $0[components] = document }
    }

    public func delete(_ path: ConfigPath) async throws -> Bool {
        var existed = false
        update { existed = $0.removeValue(forKey: path.components) != nil }
        return existed
    }

    /// Ends every watch with `error` (nil: they finish), as a lost connection would.
    public func failWatches(_ error: (any Error)? = nil) {
        let watchers = state.withLockedValue { s in
            defer { s.watchers = [:] }
            return s.watchers
        }
        for continuation in watchers.values { continuation.finish(throwing: error) }
    }

    /// Ends every watch.
    public func shutdown() async {
        failWatches()
    }

    private func update(_ change: (inout [[String]: [UInt8]]) -> Void) {
        state.withLockedValue { s in
            change(&s.documents)
            let entries = s.entries
            // Under the lock, so watchers see the sets in the order they were made.
            for continuation in s.watchers.values { continuation.yield(entries) }
        }
    }
}
