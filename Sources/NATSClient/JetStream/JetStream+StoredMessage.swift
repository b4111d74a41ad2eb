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

    /// Which stored message a get asks for.
    public enum MessageSelector: Sendable, Hashable {
        /// The message of this sequence.
        case sequence(UInt64)
        /// The last message of this subject.
        case lastBySubject(String)
        /// The first message of this subject at or after the sequence.
        case nextBySubject(String, from: UInt64)

        var request: GetRequest {
            switch self {
            case .sequence(let seq): GetRequest(seq: seq)
            case .lastBySubject(let subject): GetRequest(lastBySubject: subject)
            case .nextBySubject(let subject, let from): GetRequest(seq: from, nextBySubject: subject)
            }
        }

        var subject: String? {
            switch self {
            case .sequence: nil
            case .lastBySubject(let s), .nextBySubject(let s, _): s
            }
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
