/// A key and its value as etcd stores them, with the revisions that say when it was written.
public struct EtcdKeyValue: Sendable, Hashable {
    /// The key's bytes.
    public var key: [UInt8]
    /// The value's bytes (empty for a keys-only read).
    public var value: [UInt8]
    /// The revision of the key's last creation.
    public var createRevision: Int64
    /// The revision of the key's last modification.
    public var modRevision: Int64
    /// How often the key was written since its creation (1 right after it was created; 0 once deleted).
    public var version: Int64
    /// The lease the key is attached to (0: none).
    public var lease: Int64

    /// Creates a key-value.
    public init(key: [UInt8], value: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The key as text (invalid UTF-8 replaced).
    public var keyString: String { String(decoding: key, as: UTF8.self) }
    /// The value as text (invalid UTF-8 replaced).
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}

/// Which keys a request concerns: `[key, rangeEnd)` as etcd defines ranges.
public struct EtcdKeyRange: Sendable, Hashable {
    /// The first key.
    public var key: [UInt8]
    /// The end of the range, exclusive; empty means just ``key``; `[0]` means every key from ``key`` on.
    public var rangeEnd: [UInt8]

    /// A range in etcd's terms.
    public init(key: [UInt8], rangeEnd: [UInt8] = []) {
        self.key = key
        self.rangeEnd = rangeEnd
    }

    /// Exactly one key.
    public static func key(_ key: String) -> EtcdKeyRange { EtcdKeyRange(key: Array(key.utf8)) }

    /// Every key starting with `prefix` (every key at all for an empty prefix).
    public static func prefix(_ prefix: String) -> EtcdKeyRange { Self.prefix(Array(prefix.utf8)) }

    /// Every key starting with the bytes of `prefix`.
    public static func prefix(_ prefix: [UInt8]) -> EtcdKeyRange {
        guard !prefix.isEmpty else { return EtcdKeyRange(key: [0], rangeEnd: [0]) }
        return EtcdKeyRange(key: prefix, rangeEnd: prefixEnd(prefix))
    }

    /// The smallest key greater than every key with `prefix`: the prefix with its last byte that is
    /// not 0xff incremented and what follows dropped; `[0]` (the end of the keyspace) when all are 0xff.
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }
}

/// A lease granted by etcd.
public struct EtcdLease: Sendable, Hashable {
    /// The lease id.
    public var id: Int64
    /// The time to live etcd granted, in seconds (it may exceed the one asked for: etcd has a minimum).
    public var ttl: Int64

    /// Creates a lease value.
    public init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
    }
}

/// The answer to a range read.
public struct EtcdRangeResult: Sendable, Hashable {
    /// The store revision the read saw.
    public var revision: Int64
    /// The keys found, in key order.
    public var kvs: [EtcdKeyValue]
    /// Whether more keys matched than the limit let through.
    public var more: Bool
    /// How many keys matched in all.
    public var count: Int64

    /// Creates a result.
    public init(revision: Int64, kvs: [EtcdKeyValue], more: Bool = false, count: Int64 = 0) {
        self.revision = revision
        self.kvs = kvs
        self.more = more
        self.count = count
    }
}

/// The answer to a put.
public struct EtcdPutResult: Sendable, Hashable {
    /// The store revision after the put.
    public var revision: Int64
    /// The value before, when asked for.
    public var previous: EtcdKeyValue?

    /// Creates a result.
    public init(revision: Int64, previous: EtcdKeyValue? = nil) {
        self.revision = revision
        self.previous = previous
    }
}

/// The answer to a delete.
public struct EtcdDeleteResult: Sendable, Hashable {
    /// The store revision after the delete.
    public var revision: Int64
    /// How many keys were deleted.
    public var deleted: Int64
    /// The deleted key-values, when asked for.
    public var previous: [EtcdKeyValue]

    /// Creates a result.
    public init(revision: Int64, deleted: Int64, previous: [EtcdKeyValue] = []) {
        self.revision = revision
        self.deleted = deleted
        self.previous = previous
    }
}

/// A change a watch saw.
public struct EtcdEvent: Sendable, Hashable {
    /// A put or a delete (a lease's expiry deletes its keys).
    public enum Kind: Sendable, Hashable { case put, delete }

    /// What happened.
    public var kind: Kind
    /// The key-value after a put; for a delete the key, with ``EtcdKeyValue/modRevision`` the
    /// revision of the delete and no value.
    public var kv: EtcdKeyValue
    /// The key-value before the change, when the watch asked for it and history still had it.
    public var previous: EtcdKeyValue?

    /// Creates an event.
    public init(kind: Kind, kv: EtcdKeyValue, previous: EtcdKeyValue? = nil) {
        self.kind = kind
        self.kv = kv
        self.previous = previous
    }

    /// Whether a put created the key (rather than changing it).
    public var isCreate: Bool { kind == .put && kv.version == 1 }
}

/// One batch of a watch's events, all at or below ``revision``.
public struct EtcdWatchResponse: Sendable, Hashable {
    /// The events, in revision order.
    public var events: [EtcdEvent]
    /// The store revision when etcd sent the batch.
    public var revision: Int64

    /// Creates a batch.
    public init(events: [EtcdEvent], revision: Int64) {
        self.events = events
        self.revision = revision
    }
}

/// A watch: batches of events in revision order, surviving the loss of a member (the client resumes
/// from the next revision on another one). It ends with an ``EtcdError`` when history it needs was
/// compacted (``EtcdError/Code/compacted``; read again and watch from the new revision), when etcd
/// cancels it, when its consumer falls behind its buffer, or when the client shuts down. Stop
/// iterating (or cancel the iterating task) to cancel it.
public typealias EtcdWatch = AsyncThrowingStream<EtcdWatchResponse, any Error>

/// The status of the member that answered.
public struct EtcdMemberStatus: Sendable, Hashable {
    /// The answering member's id.
    public var memberID: UInt64
    /// The leader the member knows of (0: none).
    public var leaderID: UInt64
    /// The raft term.
    public var raftTerm: UInt64
    /// The member's etcd version.
    public var version: String
    /// The endpoint the status came from.
    public var endpoint: String

    /// Creates a status.
    public init(memberID: UInt64, leaderID: UInt64, raftTerm: UInt64, version: String, endpoint: String) {
        self.memberID = memberID
        self.leaderID = leaderID
        self.raftTerm = raftTerm
        self.version = version
        self.endpoint = endpoint
    }

    /// Whether the answering member is the leader.
    public var isLeader: Bool { memberID != 0 && memberID == leaderID }
}

/// A member of the cluster.
public struct EtcdMember: Sendable, Hashable {
    /// The member id.
    public var id: UInt64
    /// Its name (empty until it started).
    public var name: String
    /// The URLs clients reach it at.
    public var clientURLs: [String]
    /// The URLs its peers reach it at.
    public var peerURLs: [String]
    /// Whether it is a non-voting learner.
    public var isLearner: Bool

    /// Creates a member.
    public init(id: UInt64, name: String, clientURLs: [String], peerURLs: [String], isLearner: Bool = false) {
        self.id = id
        self.name = name
        self.clientURLs = clientURLs
        self.peerURLs = peerURLs
        self.isLearner = isLearner
    }
}
