extension JetStream {
    /// What a stream answers to a publish it stored: where and at which sequence.
    public struct PublishAck: Sendable, Hashable, Decodable {
        /// The stream that stored the message.
        public var stream: String
        /// The message's sequence in the stream.
        public var sequence: UInt64
        /// Whether the message id was seen before: the message was not stored again.
        public var duplicate: Bool
        /// The JetStream domain, if any.
        public var domain: String?

        private enum CodingKeys: String, CodingKey { case stream, sequence = "seq", duplicate, domain }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            stream = try c.decode(String.self, forKey: .stream)
            sequence = try c.decode(UInt64.self, forKey: .sequence)
            duplicate = try c.decodeIfPresent(Bool.self, forKey: .duplicate) ?? false
            domain = try c.decodeIfPresent(String.self, forKey: .domain)
        }
    }
}
