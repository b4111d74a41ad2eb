extension JetStream {
    /// The checks and instructions a publish carries to the stream, as `Nats-*` headers.
    public struct PublishOptions: Sendable, Hashable {
        /// `Nats-Msg-Id`: the stream stores a message id once within its duplicate window.
        public var messageID: String?
        /// `Nats-Expected-Stream`: the stream that must take the message.
        public var expectedStream: String?
        /// `Nats-Expected-Last-Sequence`: the stream's last sequence must be this.
        public var expectedLastSequence: UInt64?
        /// `Nats-Expected-Last-Subject-Sequence`: the last sequence of the subject must be this (0: no message).
        public var expectedLastSubjectSequence: UInt64?
        /// `Nats-Expected-Last-Msg-Id`: the stream's last message id must be this.
        public var expectedLastMessageID: String?
        /// `Nats-Rollup`: remove earlier messages of the subject (``Rollup/subject``) or stream (``Rollup/all``).
        public var rollup: Rollup?

        /// What a rollup removes once the message is stored.
        public enum Rollup: String, Sendable, Hashable {
            /// Every earlier message of the message's subject.
            case subject = "sub"
            /// Every earlier message of the stream.
            case all
        }

        /// No checks.
        public init(messageID: String? = nil, expectedStream: String? = nil, expectedLastSequence: UInt64? = nil,
                    expectedLastSubjectSequence: UInt64? = nil, expectedLastMessageID: String? = nil, rollup: Rollup? = nil) {
            self.messageID = messageID
            self.expectedStream = expectedStream
            self.expectedLastSequence = expectedLastSequence
            self.expectedLastSubjectSequence = expectedLastSubjectSequence
            self.expectedLastMessageID = expectedLastMessageID
            self.rollup = rollup
        }

        /// `headers` with these options' headers set.
        func apply(to headers: NATSHeaders?) -> NATSHeaders? {
            var out = headers ?? NATSHeaders()
            if let messageID { out[JetStreamHeader.messageID] = messageID }
            if let expectedStream { out[JetStreamHeader.expectedStream] = expectedStream }
            if let expectedLastSequence { out[JetStreamHeader.expectedLastSequence] = String(expectedLastSequence) }
            if let expectedLastSubjectSequence { out[JetStreamHeader.expectedLastSubjectSequence] = String(expectedLastSubjectSequence) }
            if let expectedLastMessageID { out[JetStreamHeader.expectedLastMessageID] = expectedLastMessageID }
            if let rollup { out[JetStreamHeader.rollup] = rollup.rawValue }
            return out.isEmpty && headers == nil ? nil : out
        }
    }
}
