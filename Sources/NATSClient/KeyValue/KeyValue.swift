import NIOCore

/// A key-value bucket in NATS's layout (ADR-8), so the `nats` CLI, nats.go and nats-py see the same
/// data: the stream `KV_<bucket>` holds one message per value on `$KV.<bucket>.<key>`, deletes and
/// purges are messages with `KV-Operation: DEL` / `PURGE` (a purge also `Nats-Rollup: sub`), and a
/// value's revision is its stream sequence.
///
/// Conditional writes are the stream's expected-last-subject-sequence check: ``create(_:value:headers:)``
/// (no value, or only a delete marker, under the key), ``update(_:value:revision:headers:)`` (the key's
/// last revision is this one); a failed check throws a ``JetStreamError`` with ``JetStreamError/isWrongLastSequence``
/// (``JetStreamError/Code/keyExists`` for a create over a live value).
public struct KeyValue: Sendable {
    /// The bucket's name.
    public let bucket: String
    /// The JetStream context requests go through.
    public let jetStream: JetStream
    /// Whether reads use direct gets (the stream allows them).
    public let allowDirect: Bool

    /// The header naming a marker's operation.
    public static let operationHeader = "KV-Operation"

    /// The bucket's stream, `KV_<bucket>`.
    public var streamName: String { Self.streamName(bucket) }

    /// A handle on `bucket`, which must exist (``JetStream/keyValue(_:)`` checks and opens one).
    public init(bucket: String, jetStream: JetStream, allowDirect: Bool = true) throws {
        try Self.validateBucket(bucket)
        self.bucket = bucket
        self.jetStream = jetStream
        self.allowDirect = allowDirect
    }

    static func streamName(_ bucket: String) -> String { "KV_\(bucket)" }
    static func subjectPrefix(_ bucket: String) -> String { "$KV.\(bucket)." }

    /// The subject of `key`.
    public func subject(_ key: String) -> String { Self.subjectPrefix(bucket) + key }

    // MARK: Names

    /// Throws ``JetStreamError/Code/invalidArgument`` unless `bucket` is `[A-Za-z0-9_-]+`.
    public static func validateBucket(_ bucket: String) throws {
        guard !bucket.isEmpty, bucket.utf8.count <= 240, bucket.utf8.allSatisfy(isBucketByte) else {
            throw JetStreamError(.invalidArgument, "invalid bucket name \(bucket.debugDescription)")
        }
    }

    /// Throws ``JetStreamError/Code/invalidArgument`` unless `key` is a key: `[-/_=.A-Za-z0-9]+`, not
    /// starting or ending with `.`, no `..`; with `wildcards`, `*` and `>` tokens too (a watch's filter).
    public static func validateKey(_ key: String, wildcards: Bool = false) throws {
        let bytes = Array(key.utf8)
        var valid = !bytes.isEmpty && bytes.first != UInt8(ascii: ".") && bytes.last != UInt8(ascii: ".")
        if valid {
            for token in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
                if token.isEmpty { valid = false; break }
                if wildcards, token.count == 1, token.first == UInt8(ascii: "*") || token.first == UInt8(ascii: ">") { continue }
                if !token.allSatisfy({ isBucketByte($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") }) { valid = false; break }
            }
        }
        guard valid else { throw JetStreamError(.invalidArgument, "invalid key \(String(key.prefix(120)).debugDescription)") }
    }

    private static func isBucketByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    // MARK: Reading

    /// The last message of `key`, whatever it is: a value, or a delete or purge marker; nil when the
    /// key has none.
    public func entry(_ key: String) async throws -> KeyValueEntry? {
        try Self.validateKey(key)
        guard let stored = try await jetStream.message(stream: streamName, .lastBySubject(subject(key)), direct: allowDirect) else { return nil }
        return try entry(stored, key: key)
    }

    /// The value of `key`; nil when there is none or the key was deleted or purged.
    public func get(_ key: String) async throws -> KeyValueEntry? {
        guard let entry = try await entry(key), entry.operation == .put else { return nil }
        return entry
    }

    /// The value of `key` at `revision`; nil when that revision is not a value of this key.
    public func get(_ key: String, revision: UInt64) async throws -> KeyValueEntry? {
        try Self.validateKey(key)
        guard let stored = try await jetStream.message(stream: streamName, .sequence(revision), direct: allowDirect),
              stored.subject == subject(key) else { return nil }
        let entry = try entry(stored, key: key)
        return entry.operation == .put ? entry : nil
    }

    private func entry(_ stored: JetStream.StoredMessage, key: String) throws -> KeyValueEntry {
        guard stored.subject == subject(key) else {
            throw JetStreamError(.invalidResponse, "get of \(key) in \(bucket): answered with \(stored.subject.debugDescription)")
        }
        return KeyValueEntry(bucket: bucket, key: key, value: stored.payload, revision: stored.sequence, created: stored.time,
                             operation: KeyValueEntry.operation(stored.headers), headers: stored.headers)
    }

    // MARK: Writing

    /// Puts `value` under `key` and returns its revision.
    @discardableResult
    public func put(_ key: String, value: ByteBuffer, headers: NATSHeaders? = nil) async throws -> UInt64 {
        try await write(key, value: value, headers: headers, options: JetStream.PublishOptions())
    }

    /// Puts `value` under `key` only if the key has no value (nothing, or a delete or purge marker, is
    /// there) and returns its revision; throws ``JetStreamError/Code/keyExists`` otherwise.
    @discardableResult
    public func create(_ key: String, value: ByteBuffer, headers: NATSHeaders? = nil) async throws -> UInt64 {
        do {
            return try await update(key, value: value, revision: 0, headers: headers)
        } catch let error as JetStreamError where error.isWrongLastSequence {
            // Over a delete marker: replace exactly that marker.
            if let last = try await entry(key), last.operation != .put {
                do {
                    return try await update(key, value: value, revision: last.revision, headers: headers)
                } catch let again as JetStreamError where again.isWrongLastSequence {
                    throw JetStreamError(.keyExists, "key \(key) of \(bucket) was written meanwhile", api: again.api)
                }
            }
            throw JetStreamError(.keyExists, "key \(key) of \(bucket) exists", api: error.api)
        }
    }

    /// Puts `value` under `key` only if the key's last revision is `revision` (0: the key has no message
    /// at all) and returns the new revision; throws an error with ``JetStreamError/isWrongLastSequence`` otherwise.
    @discardableResult
    public func update(_ key: String, value: ByteBuffer, revision: UInt64, headers: NATSHeaders? = nil) async throws -> UInt64 {
        try await write(key, value: value, headers: headers, options: JetStream.PublishOptions(expectedLastSubjectSequence: revision))
    }

    /// Deletes `key` with a delete marker (earlier values stay in the history); with `revision`, only
    /// if that is the key's last revision. Returns the marker's revision.
    @discardableResult
    public func delete(_ key: String, revision: UInt64? = nil) async throws -> UInt64 {
        var headers = NATSHeaders()
        headers[Self.operationHeader] = KeyValueOperation.delete.rawValue
        return try await write(key, value: ByteBuffer(), headers: headers, options: JetStream.PublishOptions(expectedLastSubjectSequence: revision))
    }

    /// Purges `key`: a purge marker that removes every earlier value; with `revision`, only if that is
    /// the key's last revision. Returns the marker's revision.
    @discardableResult
    public func purge(_ key: String, revision: UInt64? = nil) async throws -> UInt64 {
        var headers = NATSHeaders()
        headers[Self.operationHeader] = KeyValueOperation.purge.rawValue
        return try await write(key, value: ByteBuffer(), headers: headers,
                               options: JetStream.PublishOptions(expectedLastSubjectSequence: revision, rollup: .subject))
    }

    private func write(_ key: String, value: ByteBuffer, headers: NATSHeaders?, options: JetStream.PublishOptions) async throws -> UInt64 {
        try Self.validateKey(key)
        let ack = try await jetStream.publish(subject(key), payload: value, headers: headers, options: options)
        guard ack.stream == streamName else {
            throw JetStreamError(.invalidResponse, "put of \(key): stored by stream \(ack.stream.debugDescription), not \(streamName)")
        }
        return ack.sequence
    }

    // MARK: Watching

    /// Watches the keys matching `keys` (a key, or a filter with `*` and `>` tokens; `>` all): see ``KeyValueWatcher``.
    public func watch(_ keys: String = ">", options: KeyValueWatchOptions = KeyValueWatchOptions()) async throws -> KeyValueWatcher {
        try Self.validateKey(keys, wildcards: true)
        let policy: JetStream.DeliverPolicy = options.updatesOnly ? .new : options.includeHistory ? .all : .lastPerSubject
        let consumer = try await jetStream.orderedConsumer(stream: streamName, JetStreamOrderedConsumer.Configuration(
            filterSubject: subject(keys), deliverPolicy: policy, headersOnly: options.headersOnly,
            idleHeartbeat: options.idleHeartbeat, recreate: options.recreate))
        return KeyValueWatcher(bucket: bucket, prefix: Self.subjectPrefix(bucket), consumer: consumer, options: options)
    }

    /// The keys that have a value now (not deleted or purged), in the order of their last revision.
    public func keys() async throws -> [String] {
        let watcher = try await watch(options: KeyValueWatchOptions(ignoreDeletes: true, headersOnly: true, recreate: false))
        var keys: [String] = []
        do {
            for try await event in watcher {
                guard let entry = event.entry else { break }
                keys.append(entry.key)
            }
        } catch {
            await watcher.stop()
            throw error
        }
        await watcher.stop()
        return keys
    }
}
