/// The names events travel under, checked the same way by every backend: topics such as
/// `orders.created` (1 to 128 bytes of `.`-separated tokens of `[A-Za-z0-9_-]`, so a topic is a valid
/// NATS subject and SQL text alike) and consumer groups (1 to 64 bytes of `[A-Za-z0-9_-]`).
public enum EventTopic {
    /// The longest topic, in bytes.
    public static let maxTopicBytes = 128
    /// The longest group name, in bytes.
    public static let maxGroupBytes = 64

    /// Throws ``EventsError/Code/invalidTopic`` unless `topic` is a valid topic.
    public static func validate(_ topic: String) throws {
        let bytes = topic.utf8
        guard !bytes.isEmpty, bytes.count <= maxTopicBytes else {
            throw EventsError(.invalidTopic, "a topic is 1 to \(maxTopicBytes) bytes, got \(bytes.count)")
        }
        var tokenLength = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard tokenLength > 0 else { throw EventsError(.invalidTopic, "topic \(topic.debugDescription) has an empty token") }
                tokenLength = 0
            } else if isNameByte(byte) {
                tokenLength += 1
            } else {
                throw EventsError(.invalidTopic, "topic \(String(topic.prefix(64)).debugDescription) holds a byte other than [A-Za-z0-9_-.]")
            }
        }
        guard tokenLength > 0 else { throw EventsError(.invalidTopic, "topic \(topic.debugDescription) has an empty token") }
    }

    /// Throws ``EventsError/Code/invalidArgument`` unless `group` is a valid consumer group name.
    public static func validateGroup(_ group: String) throws {
        let bytes = group.utf8
        guard !bytes.isEmpty, bytes.count <= maxGroupBytes, bytes.allSatisfy(isNameByte) else {
            throw EventsError(.invalidArgument, "a group is 1 to \(maxGroupBytes) bytes of [A-Za-z0-9_-], got \(String(group.prefix(80)).debugDescription)")
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
