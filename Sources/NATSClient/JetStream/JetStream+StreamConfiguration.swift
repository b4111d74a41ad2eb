extension JetStream {
    /// A stream's configuration, as `STREAM.CREATE` takes it and `STREAM.INFO` tells it. Limits of -1
    /// (or nil durations) are unlimited; fields the server adds that this type does not know are ignored.
    public struct StreamConfiguration: Sendable, Hashable, Codable {
        /// The stream's name (no `.`, `*`, `>`, whitespace or path separators).
        public var name: String
        /// A description, for people.
        public var description: String?
        /// The subjects the stream stores (wildcards allowed).
        public var subjects: [String]
        /// When messages are removed.
        public var retention: RetentionPolicy
        /// The most consumers (-1 unlimited).
        public var maxConsumers: Int
        /// The most messages (-1 unlimited).
        public var maxMessages: Int64
        /// The most bytes (-1 unlimited).
        public var maxBytes: Int64
        /// The oldest message kept; nil (0 on the wire) forever.
        public var maxAge: Duration?
        /// The most messages per subject (-1 unlimited; a key-value bucket's history).
        public var maxMessagesPerSubject: Int64
        /// The largest message (-1 unlimited).
        public var maxMessageSize: Int32
        /// What a full stream does.
        public var discard: DiscardPolicy
        /// Where messages are kept.
        public var storage: StorageType
        /// How many copies in a cluster.
        public var replicas: Int
        /// Whether publishes are not acknowledged.
        public var noAck: Bool
        /// How long message ids are remembered for duplicate detection; nil the server's default (2 min).
        public var duplicateWindow: Duration?
        /// Whether the stream is sealed (no more writes, no deletes).
        public var sealed: Bool
        /// Whether single messages may not be deleted.
        public var denyDelete: Bool
        /// Whether the stream may not be purged.
        public var denyPurge: Bool
        /// Whether `Nats-Rollup` headers are honoured.
        public var allowRollupHeaders: Bool
        /// Whether any server with the stream answers direct gets (`DIRECT.GET`).
        public var allowDirect: Bool
        /// Whether mirrors answer direct gets too.
        public var mirrorDirect: Bool

        /// A configuration with the server's defaults for what is not given.
        public init(name: String, subjects: [String] = [], description: String? = nil, retention: RetentionPolicy = .limits,
                    maxConsumers: Int = -1, maxMessages: Int64 = -1, maxBytes: Int64 = -1, maxAge: Duration? = nil,
                    maxMessagesPerSubject: Int64 = -1, maxMessageSize: Int32 = -1, discard: DiscardPolicy = .old,
                    storage: StorageType = .file, replicas: Int = 1, noAck: Bool = false, duplicateWindow: Duration? = nil,
                    sealed: Bool = false, denyDelete: Bool = false, denyPurge: Bool = false, allowRollupHeaders: Bool = false,
                    allowDirect: Bool = false, mirrorDirect: Bool = false) {
            self.name = name
            self.subjects = subjects
            self.description = description
            self.retention = retention
            self.maxConsumers = maxConsumers
            self.maxMessages = maxMessages
            self.maxBytes = maxBytes
            self.maxAge = maxAge
            self.maxMessagesPerSubject = maxMessagesPerSubject
            self.maxMessageSize = maxMessageSize
            self.discard = discard
            self.storage = storage
            self.replicas = replicas
            self.noAck = noAck
            self.duplicateWindow = duplicateWindow
            self.sealed = sealed
            self.denyDelete = denyDelete
            self.denyPurge = denyPurge
            self.allowRollupHeaders = allowRollupHeaders
            self.allowDirect = allowDirect
            self.mirrorDirect = mirrorDirect
        }

        private enum CodingKeys: String, CodingKey {
            case name, description, subjects, retention, maxConsumers = "max_consumers", maxMessages = "max_msgs", maxBytes = "max_bytes"
            case maxAge = "max_age", maxMessagesPerSubject = "max_msgs_per_subject", maxMessageSize = "max_msg_size", discard, storage
            case replicas = "num_replicas", noAck = "no_ack", duplicateWindow = "duplicate_window", sealed, denyDelete = "deny_delete"
            case denyPurge = "deny_purge", allowRollupHeaders = "allow_rollup_hdrs", allowDirect = "allow_direct", mirrorDirect = "mirror_direct"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            description = try c.decodeIfPresent(String.self, forKey: .description)
            subjects = try c.decodeIfPresent([String].self, forKey: .subjects) ?? []
            retention = try c.decodeIfPresent(RetentionPolicy.self, forKey: .retention) ?? .limits
            maxConsumers = try c.decodeIfPresent(Int.self, forKey: .maxConsumers) ?? -1
            maxMessages = try c.decodeIfPresent(Int64.self, forKey: .maxMessages) ?? -1
            maxBytes = try c.decodeIfPresent(Int64.self, forKey: .maxBytes) ?? -1
            let age = try c.decodeIfPresent(JetStreamNanos.self, forKey: .maxAge)?.duration
            maxAge = age.flatMap { $0 > .zero ? $0 : nil }
            maxMessagesPerSubject = try c.decodeIfPresent(Int64.self, forKey: .maxMessagesPerSubject) ?? -1
            maxMessageSize = try c.decodeIfPresent(Int32.self, forKey: .maxMessageSize) ?? -1
            discard = try c.decodeIfPresent(DiscardPolicy.self, forKey: .discard) ?? .old
            storage = try c.decodeIfPresent(StorageType.self, forKey: .storage) ?? .file
            replicas = try c.decodeIfPresent(Int.self, forKey: .replicas) ?? 1
            noAck = try c.decodeIfPresent(Bool.self, forKey: .noAck) ?? false
            let window = try c.decodeIfPresent(JetStreamNanos.self, forKey: .duplicateWindow)?.duration
            duplicateWindow = window.flatMap { $0 > .zero ? $0 : nil }
            sealed = try c.decodeIfPresent(Bool.self, forKey: .sealed) ?? false
            denyDelete = try c.decodeIfPresent(Bool.self, forKey: .denyDelete) ?? false
            denyPurge = try c.decodeIfPresent(Bool.self, forKey: .denyPurge) ?? false
            allowRollupHeaders = try c.decodeIfPresent(Bool.self, forKey: .allowRollupHeaders) ?? false
            allowDirect = try c.decodeIfPresent(Bool.self, forKey: .allowDirect) ?? false
            mirrorDirect = try c.decodeIfPresent(Bool.self, forKey: .mirrorDirect) ?? false
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encodeIfPresent(description, forKey: .description)
            try c.encode(subjects, forKey: .subjects)
            try c.encode(retention, forKey: .retention)
            try c.encode(maxConsumers, forKey: .maxConsumers)
            try c.encode(maxMessages, forKey: .maxMessages)
            try c.encode(maxBytes, forKey: .maxBytes)
            try c.encode(JetStreamNanos(maxAge ?? .zero), forKey: .maxAge)
            try c.encode(maxMessagesPerSubject, forKey: .maxMessagesPerSubject)
            try c.encode(maxMessageSize, forKey: .maxMessageSize)
            try c.encode(discard, forKey: .discard)
            try c.encode(storage, forKey: .storage)
            try c.encode(replicas, forKey: .replicas)
            if noAck { try c.encode(true, forKey: .noAck) }
            if let duplicateWindow { try c.encode(JetStreamNanos(duplicateWindow), forKey: .duplicateWindow) }
            if sealed { try c.encode(true, forKey: .sealed) }
            try c.encode(denyDelete, forKey: .denyDelete)
            try c.encode(denyPurge, forKey: .denyPurge)
            try c.encode(allowRollupHeaders, forKey: .allowRollupHeaders)
            try c.encode(allowDirect, forKey: .allowDirect)
            if mirrorDirect { try c.encode(true, forKey: .mirrorDirect) }
        }
    }
}
