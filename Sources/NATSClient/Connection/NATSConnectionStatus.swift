/// Where a ``NATSConnection`` is in its life.
public enum NATSConnectionStatus: Sendable, Hashable, CustomStringConvertible {
    /// Connected to a server; publishes go out at once.
    case connected
    /// The connection dropped; the client is reconnecting and buffers publishes.
    case reconnecting
    /// ``NATSConnection/drain(timeout:)`` is running: no new work, delivered messages are still consumed.
    case draining
    /// Closed for good.
    case closed

    /// The status's name.
    public var description: String {
        switch self {
        case .connected: "connected"
        case .reconnecting: "reconnecting"
        case .draining: "draining"
        case .closed: "closed"
        }
    }
}
