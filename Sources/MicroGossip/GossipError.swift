/// Why a gossip registry operation failed.
public struct GossipError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure.
    public enum Code: String, Sendable, Hashable {
        /// An address is not `host:port` with a numeric port, or names no usable IP.
        case invalidAddress
        /// The configuration is inconsistent (e.g. tags larger than memberlist's 512-byte meta limit).
        case invalidConfiguration
        /// The sockets could not be bound.
        case bindFailed
        /// No seed answered a join.
        case joinFailed
        /// A peer did not answer in time or closed the stream early.
        case timeout
        /// A peer sent something unexpected.
        case protocolViolation
        /// The registry is shut down.
        case shutdown
    }

    /// What went wrong.
    public var code: Code
    /// Details, for logs.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? "gossip: \(code.rawValue)" : "gossip: \(code.rawValue): \(detail)" }
}
