/// An error of the mDNS registry, with a code to match on.
public struct MDNSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure.
    public enum Code: String, Sendable, Hashable {
        /// A record the registry cannot announce: no name, no node, an address that is not `host:port`,
        /// a name that is not a valid DNS name.
        case invalidArgument
        /// A node's records do not fit in one packet of the configured maximum size.
        case recordTooLarge
        /// No interface matched the configuration (none up and multicast-capable, or a named one missing).
        case noInterface
        /// A socket could not be made, configured or bound.
        case socket
        /// The network namespace could not be entered.
        case networkNamespace
        /// A TXT payload that is not go-micro's hex, zlib and JSON.
        case malformedTXT
        /// The registry was shut down.
        case shutdown
    }

    /// What went wrong.
    public var code: Code
    /// Details for logs.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "mdns: \(code.rawValue): \(detail)" }
}
