extension JetStream {
    /// A stream's messages and sequences.
    public struct StreamState: Sendable, Hashable, Decodable {
        /// How many messages it holds.
        public var messages: UInt64 = 0
        /// How many bytes they take.
        public var bytes: UInt64 = 0
        /// The sequence of the first message held.
        public var firstSequence: UInt64 = 0
        /// The sequence of the last message stored (it only grows).
        public var lastSequence: UInt64 = 0
        /// How many subjects have messages.
        public var subjects: UInt64 = 0
        /// How many consumers it has.
        public var consumers: Int = 0
        /// How many messages between the first and last were deleted.
        public var deleted: UInt64 = 0

        /// An empty state.
        public init() {}

        private enum CodingKeys: String, CodingKey {
            case messages, bytes, firstSequence = "first_seq", lastSequence = "last_seq", subjects = "num_subjects"
            case consumers = "consumer_count", deleted = "num_deleted"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            messages = try c.decodeIfPresent(UInt64.self, forKey: .messages) ?? 0
            bytes = try c.decodeIfPresent(UInt64.self, forKey: .bytes) ?? 0
            firstSequence = try c.decodeIfPresent(UInt64.self, forKey: .firstSequence) ?? 0
            lastSequence = try c.decodeIfPresent(UInt64.self, forKey: .lastSequence) ?? 0
            subjects = try c.decodeIfPresent(UInt64.self, forKey: .subjects) ?? 0
            consumers = try c.decodeIfPresent(Int.self, forKey: .consumers) ?? 0
            deleted = try c.decodeIfPresent(UInt64.self, forKey: .deleted) ?? 0
        }
    }
}
