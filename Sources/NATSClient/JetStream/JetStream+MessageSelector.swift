extension JetStream {
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
}
