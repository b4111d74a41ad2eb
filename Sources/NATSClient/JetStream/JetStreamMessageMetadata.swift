import Foundation

/// Where a consumer's message comes from, as its reply subject tells:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>` (9 tokens),
/// or with a domain and account hash after `$JS.ACK` (11 tokens, 12 with a trailing random token).
public struct JetStreamMessageMetadata: Sendable, Hashable {
    /// The JetStream domain (nil without one, or `_`).
    public var domain: String?
    /// The account hash of the 11/12-token form.
    public var accountHash: String?
    /// The stream.
    public var stream: String
    /// The consumer.
    public var consumer: String
    /// How many times this message was delivered (1 the first time).
    public var delivered: UInt64
    /// The message's sequence in the stream.
    public var streamSequence: UInt64
    /// The delivery's sequence in the consumer.
    public var consumerSequence: UInt64
    /// When the stream stored the message, in nanoseconds since 1970.
    public var timestampNanoseconds: Int64
    /// How many messages the consumer still has for delivery after this one.
    public var pending: UInt64

    /// When the stream stored the message.
    public var timestamp: Date { Date(timeIntervalSince1970: Double(timestampNanoseconds) / 1_000_000_000) }

    /// The metadata of a reply subject; throws ``JetStreamError/Code/invalidResponse`` for anything but
    /// the two `$JS.ACK` forms with decimal numbers.
    public init(replySubject: String) throws {
        func invalid(_ why: String) -> JetStreamError {
            JetStreamError(.invalidResponse, "not a JetStream ack subject (\(why)): \(String(replySubject.prefix(120)).debugDescription)")
        }
        guard replySubject.utf8.count <= 1024 else { throw invalid("too long") }
        let tokens = replySubject.split(separator: ".", omittingEmptySubsequences: false)
        guard tokens.count >= 2, tokens[0] == "$JS", tokens[1] == "ACK" else { throw invalid("no $JS.ACK prefix") }
        guard !tokens.contains(where: \.isEmpty) else { throw invalid("an empty token") }
        let offset: Int
        switch tokens.count {
        case 9:
            offset = 2
            domain = nil
            accountHash = nil
        case 11, 12:
            offset = 4
            domain = tokens[2] == "_" ? nil : String(tokens[2])
            accountHash = String(tokens[3])
        default:
            throw invalid("\(tokens.count) tokens")
        }
        func number(_ index: Int, _ name: String) throws -> UInt64 {
            let token = tokens[offset + index]
            guard token.utf8.count <= 20, token.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = UInt64(token) else {
                throw invalid("\(name) is not a number")
            }
            return n
        }
        stream = String(tokens[offset])
        consumer = String(tokens[offset + 1])
        delivered = try number(2, "delivered")
        streamSequence = try number(3, "stream sequence")
        consumerSequence = try number(4, "consumer sequence")
        let ts = try number(5, "timestamp")
        guard ts <= UInt64(Int64.max) else { throw invalid("timestamp out of range") }
        timestampNanoseconds = Int64(ts)
        pending = try number(6, "pending")
        guard delivered > 0, streamSequence > 0, consumerSequence > 0 else { throw invalid("a zero count or sequence") }
    }
}
