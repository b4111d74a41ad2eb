/// Limits and timings of the NATS RPC transport (both sides).
public struct NATSTransportConfiguration: Sendable {
    /// How many stream messages one side may send before the other acknowledges reading them: the
    /// most a slow reader holds (per stream and direction) and the bound on messages in flight.
    public var streamWindow: Int = 16
    /// The largest message body sent or accepted; `nil` leaves it to the server's `max_payload`.
    public var maxMessageSize: Int?
    /// How long a unary call without a deadline waits for its answer.
    public var defaultTimeout: Duration = .seconds(30)
    /// How long opening a stream waits for the server to accept it.
    public var openTimeout: Duration = .seconds(5)
    /// A stream side that heard nothing from its peer for this long probes it (a `ping` request);
    /// a peer whose inbox has no subscriber any more (its process died) ends the stream.
    public var keepaliveInterval: Duration = .seconds(10)
    /// Calls and streams a listener serves at once; more are answered with a 503.
    public var maxConcurrentCalls: Int = 1024
    /// The queue group listeners subscribe in, so instances sharing one subject share its calls; `nil` for none.
    public var queueGroup: String? = "micro.rpc"

    /// The defaults.
    public init() {}
}
