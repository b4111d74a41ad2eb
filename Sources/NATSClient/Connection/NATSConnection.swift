import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

/// A connection to a NATS server (or cluster): publish, subscribe, request, with reconnection.
///
/// Reading, the handshake, pings and reconnection run on one event loop. ``publish(_:payload:headers:replyTo:)``
/// is callable from any task: it encodes the frame into a shared outbound buffer under its own lock
/// (one pass, no allocation). On a plain TCP connection that buffer is written to the socket right
/// there, from the publishing thread, unless publishers are streaming: then frames accumulate and the
/// publishers write them in large writes (once `Outbound.lingerBytes` accumulated, or when frames
/// waited a whole `Outbound.lingerDelay`), and the event loop writes what is left once they stop.
/// With TLS, or while the socket is full, the event loop writes instead, once per tick.
/// When the socket falls behind and the buffer reaches ``NATSOptions/maxOutboundBytes``, publishers
/// wait until it drained (backpressure, never an error). While reconnecting, the buffer keeps
/// publishes (up to ``NATSOptions/reconnectBufferSize``; past it publish throws) and is sent, after
/// the subscriptions are restored, once a server is reached again.
public final class NATSConnection: Sendable {
    /// The version sent in `CONNECT`.
    static let clientVersion = "0.1.0"

    let options: NATSOptions
    let logger: Logger
    let eventLoop: any EventLoop
    let state: Mutex<State>
    /// The publish path: the outbound buffer and what a publish needs to check. Taken inside `state`'s lock, never around it.
    let out: Mutex<Outbound>
    let sslContextBox = Mutex<NIOSSLContext?>(nil)

    enum Phase: Sendable { case connecting, connected, reconnecting, closed }

    struct PendingRequest: Sendable {
        var continuation: UnsafeContinuation<NATSMessage, any Error>
        /// The connection epoch the request was sent on (the next one when sent while reconnecting).
        var epoch: UInt64
        var deadline: NIODeadline
        var subject: String
        var timeout: Duration
    }

    struct Waiter: Sendable {
        var continuation: CheckedContinuation<Void, any Error>
        var timeout: Scheduled<Void>?
    }

    struct Inbox: Sendable {
        /// `_INBOX.<nuid>.`
        var prefix: String
        var sid: UInt64
    }

    struct State: Sendable {
        var phase = Phase.connecting
        var draining = false
        var channel: (any Channel)?
        var info = NATSServerInfo()
        var servers: [NATSServerAddress]
        var serverIndex = 0
        var nextSID: UInt64 = 0
        var subscriptions: [UInt64: NATSSubscription] = [:]
        var inbox: Inbox?
        var requests: [UInt64: PendingRequest] = [:]
        var cancelledRequests: Set<UInt64> = []
        var nextToken: UInt64 = 0
        /// The timer failing requests past their deadline (one per connection, at the earliest deadline).
        var sweep: (task: Scheduled<Void>, at: NIODeadline)?
        var waiters: [UInt64: Waiter] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
        /// One entry per `PING` on the current channel: the flush waiting for its `PONG`, or nil for a keep-alive.
        var pongQueue = CircularBuffer<UInt64?>()
        /// Flushes asked for while reconnecting, sent once connected.
        var reconnectFlushes: [UInt64] = []
        var pingsOut = 0
        /// Received and reconnect counters (the publish counters live in ``Outbound``).
        var statistics = NATSStatistics()
        /// Incremented on every (re)connection.
        var epoch: UInt64 = 0
        var failedAttempts = 0
        var pingTask: RepeatedTask?
        var reconnectTask: Scheduled<Void>?
        /// The connection attempt under way, if any.
        var attempt: EventLoopFuture<Void>?
        var nuid = NATSNUID()
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var closeComplete = false

        init(servers: [NATSServerAddress]) {
            self.servers = servers
        }
    }


    /// What must happen outside the lock once the connection closed.
    struct Teardown: Sendable {
        var channel: (any Channel)?
        var outbound: ByteBuffer
        var tasks: [Scheduled<Void>] = []
        var pingTask: RepeatedTask?
        var requests: [PendingRequest] = []
        var waiters: [Waiter] = []
        var drainWaiters: [DrainWaiter] = []
        var subscriptions: [NATSSubscription] = []
        var attempt: EventLoopFuture<Void>?
        var error: NATSError
    }

    private init(options: NATSOptions, logger: Logger, eventLoop: any EventLoop, servers: [NATSServerAddress]) {
        self.options = options
        self.logger = logger
        self.eventLoop = eventLoop
        self.state = Mutex(State(servers: servers))
        self.out = Mutex(Outbound(
            maxReusedCapacity: max(4 * options.maxOutboundBytes, 4 << 20),
            earlyFlushBytes: max(1024, min(Outbound.lingerBytes, options.maxOutboundBytes / 2))))
    }

    /// Connects to the first reachable server of `options.servers` (each tried once) and returns once the server accepted `CONNECT`.
    ///
    /// Throws ``NATSError/Code/authorizationViolation`` when the credentials are refused, ``NATSError/Code/connectFailed`` otherwise.
    public static func connect(
        _ options: NATSOptions,
        logger: Logger = Logger(label: "micro.nats"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> NATSConnection {
        var servers: [NATSServerAddress] = []
        for url in options.servers { servers.append(try NATSServerAddress(parsing: url)) }
        guard !servers.isEmpty else { throw NATSError(.connectFailed, "no servers configured") }
        let connection = NATSConnection(options: options, logger: logger, eventLoop: eventLoopGroup.next(), servers: servers)
        try await connection.connectFirst(servers)
        return connection
    }

    // MARK: Public state

    /// The last `INFO` the server sent.
    public var serverInfo: NATSServerInfo { state.withLock { $0.info } }

    /// Where the connection is in its life.
    public var status: NATSConnectionStatus {
        state.withLock { s in
            switch s.phase {
            case .closed: .closed
            case _ where s.draining: .draining
            case .connecting, .connected: .connected
            case .reconnecting: .reconnecting
            }
        }
    }

    /// Counters since the connection was created.
    public var statistics: NATSStatistics {
        var statistics = state.withLock { $0.statistics }
        out.withLock { o in
            statistics.outMsgs = o.outMsgs
            statistics.outBytes = o.outBytes
        }
        return statistics
    }

    /// A new unique inbox subject, `<inboxPrefix>.<nuid>`.
    public func newInbox() -> String {
        let id = state.withLock { $0.nuid.next() }
        return "\(options.inboxPrefix).\(id)"
    }
}
