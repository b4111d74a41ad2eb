import Foundation
import NIOCore

extension JetStream {
    /// A message as a stream stores it, read back by sequence or subject.
    public struct StoredMessage: Sendable {
        /// The subject it was published on.
        public var subject: String
        /// Its sequence in the stream.
        public var sequence: UInt64
        /// Its headers, if it had any (without the `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and
        /// `Nats-Time-Stamp` a direct get adds).
        public var headers: NATSHeaders?
        /// Its payload.
        public var payload: ByteBuffer
        /// When the stream stored it.
        public var time: Date?

        /// A stored message.
        public init(subject: String, sequence: UInt64, headers: NATSHeaders? = nil, payload: ByteBuffer, time: Date? = nil) {
            self.subject = subject
            self.sequence = sequence
            self.headers = headers
            self.payload = payload
            self.time = time
        }
    }

    /// The body of `STREAM.MSG.GET` and `DIRECT.GET`.
    struct GetRequest: Encodable {
        var seq: UInt64?
        var lastBySubject: String?
        var nextBySubject: String?

        private enum CodingKeys: String, CodingKey { case seq, lastBySubject = "last_by_subj", nextBySubject = "next_by_subj" }
    }

    /// The answer of `STREAM.MSG.GET`: the message with base64 headers and data.
    struct GetResponse: Decodable {
        struct Message: Decodable {
            var subject: String
            var seq: UInt64
            var hdrs: String?
            var data: String?
            var time: String?
        }
        var message: Message
    }
}
