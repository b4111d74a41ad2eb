import Foundation

extension JetStream {
    /// What consumer create and `CONSUMER.INFO` answer: the configuration and the delivery state.
    public struct ConsumerInfo: Sendable, Hashable, Decodable {
        /// The stream the consumer reads.
        public var stream: String
        /// The consumer's name.
        public var name: String
        /// When it was created.
        public var created: Date?
        /// The configuration in force.
        public var configuration: ConsumerConfiguration
        /// The last delivered consumer and stream sequences.
        public var delivered: SequenceInfo
        /// Up to where everything was acknowledged.
        public var ackFloor: SequenceInfo
        /// Messages delivered and not yet acknowledged.
        public var ackPending: Int
        /// Messages delivered more than once and not yet acknowledged.
        public var redelivered: Int
        /// Pull requests waiting.
        public var waiting: Int
        /// Messages not yet delivered.
        public var pending: UInt64

        /// A consumer and a stream sequence.
        public struct SequenceInfo: Sendable, Hashable, Decodable {
            /// The consumer's sequence (deliveries).
            public var consumerSequence: UInt64
            /// The stream's sequence.
            public var streamSequence: UInt64

            private enum CodingKeys: String, CodingKey { case consumerSequence = "consumer_seq", streamSequence = "stream_seq" }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                consumerSequence = try c.decodeIfPresent(UInt64.self, forKey: .consumerSequence) ?? 0
                streamSequence = try c.decodeIfPresent(UInt64.self, forKey: .streamSequence) ?? 0
            }

            init() {
                consumerSequence = 0
                streamSequence = 0
            }
        }

        private enum CodingKeys: String, CodingKey {
            case stream = "stream_name", name, created, configuration = "config", delivered, ackFloor = "ack_floor"
            case ackPending = "num_ack_pending", redelivered = "num_redelivered", waiting = "num_waiting", pending = "num_pending"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            stream = try c.decode(String.self, forKey: .stream)
            name = try c.decode(String.self, forKey: .name)
            created = try c.decodeIfPresent(String.self, forKey: .created).flatMap(JetStreamJSON.date(rfc3339:))
            configuration = try c.decode(ConsumerConfiguration.self, forKey: .configuration)
            delivered = try c.decodeIfPresent(SequenceInfo.self, forKey: .delivered) ?? SequenceInfo()
            ackFloor = try c.decodeIfPresent(SequenceInfo.self, forKey: .ackFloor) ?? SequenceInfo()
            ackPending = try c.decodeIfPresent(Int.self, forKey: .ackPending) ?? 0
            redelivered = try c.decodeIfPresent(Int.self, forKey: .redelivered) ?? 0
            waiting = try c.decodeIfPresent(Int.self, forKey: .waiting) ?? 0
            pending = try c.decodeIfPresent(UInt64.self, forKey: .pending) ?? 0
        }
    }
}
