/// Why bytes from a gossip peer could not be read (or a value written). Packets that fail to parse
/// are dropped with one of these; none of them is fatal.
package struct GossipWireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure.
    package enum Code: String, Sendable, Hashable {
        /// The input ends inside a value (on a stream: more bytes are needed).
        case truncated
        /// A byte that starts no msgpack value (0xc1), or a value of the wrong type for a field.
        case badValue
        /// Containers nested deeper than the bound.
        case tooDeep
        /// A string, byte array, container, message or decompressed payload larger than its bound.
        case tooLarge
        /// A message type this implementation does not handle (encryption, labels, errors, unknown).
        case unsupportedMessage
        /// A required field is missing.
        case missingField
        /// A CRC that does not match the payload.
        case badChecksum
        /// Compressed data that is not valid LZW, or an unknown compression algorithm.
        case badCompression
        /// A value that cannot be encoded (too long for the wire format).
        case unencodable
    }

    /// What went wrong.
    package var code: Code
    /// Where and what, for logs.
    package var detail: String

    /// Creates an error.
    package init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    package var description: String { detail.isEmpty ? "gossip: \(code.rawValue)" : "gossip: \(code.rawValue): \(detail)" }
}
