import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization

/// The members an ``EtcdConnection`` talks to: one gRPC client (one HTTP/2 connection) per member,
/// created when first needed, and which member is in use. Every request and stream goes to the
/// member in use; when one fails with a connection-level error the client moves on to the next
/// member that has not failed recently (the selection policy is ``EtcdMemberSelection``).
final class EtcdMembers: Sendable {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    struct Member: Sendable {
        let id: UInt64
        let endpoint: EtcdEndpoint
        let client: Client
        /// Runs the client's connections until it is shut down.
        let task: Task<Void, Never>
    }

    /// A connection replaced because it carried its budget of requests: it closes once a pause has
    /// let the requests that already picked it start, and what runs on it has ended.
    private struct Retired: Sendable {
        let member: Member
        let closer: Task<Void, Never>
    }

    private struct State {
        var selection: EtcdMemberSelection
        var members: [Int: Member] = [:]
        var budgets: [Int: EtcdCallBudget] = [:]
        var retired: [UInt64: Retired] = [:]
        var nextID: UInt64 = 0
        var closed = false
        var failovers = 0
        var rotations = 0
        var lastFailover: ContinuousClock.Instant?
    }

    /// How long a replaced connection stays open for requests that picked it just before.
    static let retirementPause: Duration = .seconds(2)

    let endpoints: [EtcdEndpoint]
    private let configuration: EtcdConfiguration
    private let logger: Logger
    private let state: Mutex<State>

    init(configuration: EtcdConfiguration, logger: Logger) {
        endpoints = configuration.endpoints
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(selection: EtcdMemberSelection(count: configuration.endpoints.count,
                                                                         quarantine: configuration.memberQuarantine)))
    }

    /// The member in use and its gRPC client (connecting it if it is new). A `request` (a unary call,
    /// not a stream) counts against the connection's ``EtcdConfiguration/connectionCallBudget``: past
    /// it, the request gets a fresh connection and the old one is retired.
    func current(request: Bool = false) throws -> (index: Int, endpoint: EtcdEndpoint, client: Client) {
        try state.withLock { s in
            guard !s.closed else { throw EtcdError(.shutdown, "the etcd client is shut down") }
            let index = s.selection.current
            let budget = configuration.connectionCallBudget
            if let m = s.members[index] {
                guard request, budget > 0 else { return (index, m.endpoint, m.client) }
                let now = ContinuousClock.now
                if s.budgets[index, default: EtcdCallBudget(limit: budget, window: .seconds(30))].admit(now: now) {
                    return (index, m.endpoint, m.client)
                }
                retire(m, &s)
            }
            let member = try connect(index, &s)
            if request, budget > 0 {
                var fresh = EtcdCallBudget(limit: budget, window: .seconds(30))
                _ = fresh.admit(now: .now)
                s.budgets[index] = fresh
            } else {
                s.budgets[index] = nil
            }
            return (index, member.endpoint, member.client)
        }
    }

    /// A client for member `index`, running its connections, recorded as the member's.
    private func connect(_ index: Int, _ s: inout State) throws -> Member {
        let endpoint = endpoints[index]
        let client = try makeClient(endpoint)
        s.nextID += 1
        let id = s.nextID
        let task = Task { [logger, weak self] in
            do { try await client.runConnections() } catch {
                logger.debug("etcd connection ended", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
            }
            self?.ended(id)
        }
        let member = Member(id: id, endpoint: endpoint, client: client, task: task)
        s.members[index] = member
        return member
    }

    /// Replaces `member`'s connection: no new request picks it; it closes after a pause, once what
    /// runs on it has ended.
    private func retire(_ member: Member, _ s: inout State) {
        s.rotations += 1
        let client = member.client
        let closer = Task {
            try? await Task.sleep(for: Self.retirementPause)
            client.beginGracefulShutdown()
        }
        s.retired[member.id] = Retired(member: member, closer: closer)
        logger.debug("etcd connection carried its request budget, opening a fresh one", metadata: ["endpoint": "\(member.endpoint)"])
    }

    /// Forgets a retired connection whose client has finished.
    private func ended(_ id: UInt64) {
        state.withLock { _ = $0.retired.removeValue(forKey: id) }
    }

    /// Reports that the member at `index` failed; moves on unless another caller already did.
    func failed(_ index: Int, error: EtcdError) {
        let moved = state.withLock { s -> (from: EtcdEndpoint, to: EtcdEndpoint)? in
            let now = ContinuousClock.now
            guard let next = s.selection.failed(index, now: now) else { return nil }
            s.failovers += 1
            s.lastFailover = now
            return (endpoints[index], endpoints[next])
        }
        if let moved {
            logger.info("etcd member failed, moving on", metadata: ["from": "\(moved.from)", "to": "\(moved.to)", "error": "\(error)"])
        }
    }

    /// Reports that the member at `index` answered.
    func succeeded(_ index: Int) {
        state.withLock { $0.selection.succeeded(index) }
    }

    /// The endpoint in use.
    var activeEndpoint: EtcdEndpoint { endpoints[state.withLock { $0.selection.current }] }

    /// Whether the client moved to another member within the quarantine: the cluster may still be
    /// electing a leader.
    var failingOver: Bool {
        state.withLock { s in s.lastFailover.map { ContinuousClock.now - $0 < configuration.memberQuarantine } ?? false }
    }

    /// How often the client moved to another member.
    var failovers: Int { state.withLock { $0.failovers } }

    /// How often a connection was replaced because it carried its request budget.
    var rotations: Int { state.withLock { $0.rotations } }

    /// Connections replaced but not closed yet.
    var retiredConnections: Int { state.withLock { $0.retired.count } }

    /// Closes every connection, waiting for them to finish.
    func shutdown() async {
        let members = state.withLock { s -> [Member] in
            s.closed = true
            let m = Array(s.members.values) + s.retired.values.map(\.member)
            for r in s.retired.values { r.closer.cancel() }
            s.members = [:]
            s.retired = [:]
            return m
        }
        for m in members { m.client.beginGracefulShutdown() }
        for m in members {
            // In-flight streams were cancelled by their owners; give the rest a moment, then cut.
            let task = m.task
            let cutter = Task {
                try? await Task.sleep(for: .seconds(2))
                task.cancel()
            }
            await task.value
            cutter.cancel()
        }
    }

    private func makeClient(_ endpoint: EtcdEndpoint) throws -> Client {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(5), multiplier: 1.6, jitter: 0.2)
        if let ping = configuration.keepalivePing {
            config.connection.keepalive = .init(time: ping.interval, timeout: ping.timeout, allowWithoutCalls: true)
        }
        let transport: HTTP2ClientTransport.Posix
        do {
            if endpoint.host.contains(":") {
                transport = try HTTP2ClientTransport.Posix(target: .ipv6(address: endpoint.host, port: endpoint.port), transportSecurity: .plaintext, config: config)
            } else if Self.isIPv4(endpoint.host) {
                transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: endpoint.host, port: endpoint.port), transportSecurity: .plaintext, config: config)
            } else {
                transport = try HTTP2ClientTransport.Posix(target: .dns(host: endpoint.host, port: endpoint.port), transportSecurity: .plaintext, config: config)
            }
        } catch {
            throw EtcdError(.invalidArgument, "cannot make a transport for \(endpoint)", endpoint: endpoint.description, cause: error)
        }
        return GRPCClient(transport: transport)
    }

    static func isIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in p.count <= 3 && !p.isEmpty && p.allSatisfy(\.isNumber) && (Int(p) ?? 256) < 256 }
    }
}

/// Which member is in use: the first at start, the next one that has not failed within the
/// quarantine after a failure (or simply the next one when all have). A value type, tested on its own.
struct EtcdMemberSelection: Sendable {
    let count: Int
    let quarantine: Duration
    private(set) var current = 0
    private var failedAt: [ContinuousClock.Instant?]

    init(count: Int, quarantine: Duration) {
        precondition(count > 0, "an etcd client needs at least one endpoint")
        self.count = count
        self.quarantine = quarantine
        failedAt = Array(repeating: nil, count: count)
    }

    /// Records a failure of `index`; returns the member now in use if it changed (only when
    /// `index` was the one in use: failures reported late by other callers don't skip members).
    mutating func failed(_ index: Int, now: ContinuousClock.Instant) -> Int? {
        guard index >= 0, index < count else { return nil }
        failedAt[index] = now
        guard index == current, count > 1 else { return nil }
        for step in 1..<count {
            let candidate = (index + step) % count
            if let t = failedAt[candidate], now - t < quarantine { continue }
            current = candidate
            return candidate
        }
        current = (index + 1) % count
        return current
    }

    /// Records that `index` answered: it is healthy again.
    mutating func succeeded(_ index: Int) {
        guard index >= 0, index < count else { return }
        failedAt[index] = nil
    }
}
