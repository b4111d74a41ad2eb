/// Why a DNS message could not be read or written. Packets from the network that fail to parse are
/// dropped with one of these; none of them is fatal.
package struct DNSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure.
    package enum Code: String, Sendable, Hashable {
        /// The packet ends inside a header, name, question or record.
        case truncated
        /// The packet is larger than the configured maximum (9000 bytes by default, RFC 6762 §17).
        case packetTooLarge
        /// A label is longer than 63 bytes, or empty inside a name.
        case labelTooLong
        /// A name is longer than 255 bytes on the wire.
        case nameTooLong
        /// A label type other than a plain label or a compression pointer (the reserved 0x40 and 0x80 forms).
        case badLabelType
        /// A compression pointer that does not point strictly backwards, or too many pointers in one name.
        case badPointer
        /// More questions or records than the configured bound.
        case tooManyRecords
        /// A record's data does not match its type (wrong length, a name running past its data, ...).
        case badRecordData
        /// A value that cannot be encoded (an empty label, a TXT string over 255 bytes, a name with a dot inside a label).
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

    package var description: String { detail.isEmpty ? "dns: \(code.rawValue)" : "dns: \(code.rawValue): \(detail)" }
}
