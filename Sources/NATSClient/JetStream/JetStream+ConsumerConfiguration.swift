import Foundation

extension JetStream {
    /// A consumer's configuration: push (with ``deliverSubject``) or pull (without), durable (with
    /// ``durableName``) or ephemeral. Fields the server adds that this type does not know are ignored.
    public struct ConsumerConfiguration: Sendable, Hashable, Codable {
        /// The consumer's name (2.9+); the server makes one up for an ephemeral consumer without it.
        public var name: String?
        /// The durable name: the consumer outlives its subscribers.
        public var durableName: String?
        /// A description, for people.
        public var description: String?
        /// Where delivery starts.
        public var deliverPolicy: DeliverPolicy
        /// The first sequence, for ``DeliverPolicy/byStartSequence``.
        public var startSequence: UInt64?
        /// The first time, for ``DeliverPolicy/byStartTime`` (sent as RFC 3339).
        public var startTime: Date?
        /// How messages are acknowledged.
        public var ackPolicy: AckPolicy
        /// How long a delivered message waits for its acknowledgement before it is delivered again.
        public var ackWait: Duration?
        /// How often a message is delivered at most (-1 unlimited).
        public var maxDeliver: Int
        /// The delays between redeliveries, instead of ``ackWait``.
        public var backoff: [Duration]
        /// Only messages of subjects matching this.
        public var filterSubject: String?
        /// How fast stored messages are replayed.
        public var replayPolicy: ReplayPolicy
        /// How many messages may wait for their acknowledgement (-1 unlimited).
        public var maxAckPending: Int?
        /// Pull: how many fetch requests may wait at once.
        public var maxWaiting: Int?
        /// Pull: the largest batch one request may ask for.
        public var maxBatch: Int?
        /// Pull: the longest expiry one request may ask for.
        public var maxExpires: Duration?
        /// Push: the subject messages are delivered to.
        public var deliverSubject: String?
        /// Push: the queue group of the subscribers.
        public var deliverGroup: String?
        /// Push: flow control (needs ``idleHeartbeat``).
        public var flowControl: Bool
        /// Push: how often the server sends a heartbeat while it has nothing to deliver.
        public var idleHeartbeat: Duration?
        /// Deliver only the headers (and `Nats-Msg-Size`), not the payloads.
        public var headersOnly: Bool
        /// How long without subscribers (push) or requests (pull) before an ephemeral consumer is removed.
        public var inactiveThreshold: Duration?
        /// How many copies in a cluster (0: the stream's).
        public var replicas: Int?
        /// Keep the consumer's state in memory.
        public var memoryStorage: Bool

        /// A configuration; the defaults make an ephemeral pull consumer of every message with explicit acknowledgements.
        public init(name: String? = nil, durableName: String? = nil, description: String? = nil, deliverPolicy: DeliverPolicy = .all,
                    startSequence: UInt64? = nil, startTime: Date? = nil, ackPolicy: AckPolicy = .explicit, ackWait: Duration? = nil,
                    maxDeliver: Int = -1, backoff: [Duration] = [], filterSubject: String? = nil, replayPolicy: ReplayPolicy = .instant,
                    maxAckPending: Int? = nil, maxWaiting: Int? = nil, maxBatch: Int? = nil, maxExpires: Duration? = nil,
                    deliverSubject: String? = nil, deliverGroup: String? = nil, flowControl: Bool = false, idleHeartbeat: Duration? = nil,
                    headersOnly: Bool = false, inactiveThreshold: Duration? = nil, replicas: Int? = nil, memoryStorage: Bool = false) {
            self.name = name
            self.durableName = durableName
            self.description = description
            self.deliverPolicy = deliverPolicy
            self.startSequence = startSequence
            self.startTime = startTime
            self.ackPolicy = ackPolicy
            self.ackWait = ackWait
            self.maxDeliver = maxDeliver
            self.backoff = backoff
            self.filterSubject = filterSubject
            self.replayPolicy = replayPolicy
            self.maxAckPending = maxAckPending
            self.maxWaiting = maxWaiting
            self.maxBatch = maxBatch
            self.maxExpires = maxExpires
            self.deliverSubject = deliverSubject
            self.deliverGroup = deliverGroup
            self.flowControl = flowControl
            self.idleHeartbeat = idleHeartbeat
            self.headersOnly = headersOnly
            self.inactiveThreshold = inactiveThreshold
            self.replicas = replicas
            self.memoryStorage = memoryStorage
        }

        private enum CodingKeys: String, CodingKey {
            case name, durableName = "durable_name", description, deliverPolicy = "deliver_policy", startSequence = "opt_start_seq"
            case startTime = "opt_start_time", ackPolicy = "ack_policy", ackWait = "ack_wait", maxDeliver = "max_deliver", backoff
            case filterSubject = "filter_subject", replayPolicy = "replay_policy", maxAckPending = "max_ack_pending"
            case maxWaiting = "max_waiting", maxBatch = "max_batch", maxExpires = "max_expires", deliverSubject = "deliver_subject"
            case deliverGroup = "deliver_group", flowControl = "flow_control", idleHeartbeat = "idle_heartbeat", headersOnly = "headers_only"
            case inactiveThreshold = "inactive_threshold", replicas = "num_replicas", memoryStorage = "mem_storage"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func duration(_ key: CodingKeys) throws -> Duration? {
                try c.decodeIfPresent(JetStreamNanos.self, forKey: key).flatMap { $0.duration > .zero ? $0.duration : nil }
            }
            name = try c.decodeIfPresent(String.self, forKey: .name)
            durableName = try c.decodeIfPresent(String.self, forKey: .durableName)
            description = try c.decodeIfPresent(String.self, forKey: .description)
            deliverPolicy = try c.decodeIfPresent(DeliverPolicy.self, forKey: .deliverPolicy) ?? .all
            startSequence = try c.decodeIfPresent(UInt64.self, forKey: .startSequence)
            startTime = try c.decodeIfPresent(String.self, forKey: .startTime).flatMap(JetStreamJSON.date(rfc3339:))
            ackPolicy = try c.decodeIfPresent(AckPolicy.self, forKey: .ackPolicy) ?? .none
            ackWait = try duration(.ackWait)
            maxDeliver = try c.decodeIfPresent(Int.self, forKey: .maxDeliver) ?? -1
            backoff = try c.decodeIfPresent([JetStreamNanos].self, forKey: .backoff)?.map(\.duration) ?? []
            filterSubject = try c.decodeIfPresent(String.self, forKey: .filterSubject)
            replayPolicy = try c.decodeIfPresent(ReplayPolicy.self, forKey: .replayPolicy) ?? .instant
            maxAckPending = try c.decodeIfPresent(Int.self, forKey: .maxAckPending)
            maxWaiting = try c.decodeIfPresent(Int.self, forKey: .maxWaiting)
            maxBatch = try c.decodeIfPresent(Int.self, forKey: .maxBatch)
            maxExpires = try duration(.maxExpires)
            deliverSubject = try c.decodeIfPresent(String.self, forKey: .deliverSubject)
            deliverGroup = try c.decodeIfPresent(String.self, forKey: .deliverGroup)
            flowControl = try c.decodeIfPresent(Bool.self, forKey: .flowControl) ?? false
            idleHeartbeat = try duration(.idleHeartbeat)
            headersOnly = try c.decodeIfPresent(Bool.self, forKey: .headersOnly) ?? false
            inactiveThreshold = try duration(.inactiveThreshold)
            replicas = try c.decodeIfPresent(Int.self, forKey: .replicas)
            memoryStorage = try c.decodeIfPresent(Bool.self, forKey: .memoryStorage) ?? false
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(name, forKey: .name)
            try c.encodeIfPresent(durableName, forKey: .durableName)
            try c.encodeIfPresent(description, forKey: .description)
            try c.encode(deliverPolicy, forKey: .deliverPolicy)
            try c.encodeIfPresent(startSequence, forKey: .startSequence)
            if let startTime {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                try c.encode(formatter.string(from: startTime), forKey: .startTime)
            }
            try c.encode(ackPolicy, forKey: .ackPolicy)
            try c.encodeIfPresent(ackWait.map(JetStreamNanos.init), forKey: .ackWait)
            try c.encode(maxDeliver, forKey: .maxDeliver)
            if !backoff.isEmpty { try c.encode(backoff.map(JetStreamNanos.init), forKey: .backoff) }
            try c.encodeIfPresent(filterSubject, forKey: .filterSubject)
            try c.encode(replayPolicy, forKey: .replayPolicy)
            try c.encodeIfPresent(maxAckPending, forKey: .maxAckPending)
            try c.encodeIfPresent(maxWaiting, forKey: .maxWaiting)
            try c.encodeIfPresent(maxBatch, forKey: .maxBatch)
            try c.encodeIfPresent(maxExpires.map(JetStreamNanos.init), forKey: .maxExpires)
            try c.encodeIfPresent(deliverSubject, forKey: .deliverSubject)
            try c.encodeIfPresent(deliverGroup, forKey: .deliverGroup)
            if flowControl { try c.encode(true, forKey: .flowControl) }
            try c.encodeIfPresent(idleHeartbeat.map(JetStreamNanos.init), forKey: .idleHeartbeat)
            if headersOnly { try c.encode(true, forKey: .headersOnly) }
            try c.encodeIfPresent(inactiveThreshold.map(JetStreamNanos.init), forKey: .inactiveThreshold)
            try c.encodeIfPresent(replicas, forKey: .replicas)
            if memoryStorage { try c.encode(true, forKey: .memoryStorage) }
        }
    }
}
