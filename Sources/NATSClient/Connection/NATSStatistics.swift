/// Counters of one ``NATSConnection`` since it was created.
public struct NATSStatistics: Sendable, Hashable {
    /// Messages received (`MSG`/`HMSG`).
    public var inMsgs: Int = 0
    /// Messages published.
    public var outMsgs: Int = 0
    /// Payload bytes received (headers not counted).
    public var inBytes: Int = 0
    /// Payload bytes published (headers not counted).
    public var outBytes: Int = 0
    /// Successful reconnections.
    public var reconnects: Int = 0
    /// Messages dropped because a subscription's pending buffer was full.
    public var droppedMessages: Int = 0

    /// Zero counters.
    public init() {}
}
