import Foundation
import GRPCCore
import Logging

/// An etcd v3 client over gRPC: keys (read, write, delete, transactions), leases and watches, on a
/// list of members with failover. Shared by everything in a process that uses etcd (registry, config,
/// sync, store).
///
/// - Requests go to one member at a time. When it cannot serve them (connection refused or lost, no
///   leader, a timeout) the request is tried again on the next member, with a short backoff, until
///   ``EtcdConfiguration/operationTimeout``; the client stays on the member that answered.
/// - A connection carries at most ``EtcdConfiguration/connectionCallBudget`` requests per 30 s; the
///   next one opens a fresh connection to the member and the old one closes when its work is done
///   (etcd's flow-control PINGs would otherwise get the connection closed under its requests).
/// - Leases are kept alive over ONE `LeaseKeepAlive` stream per client, however many there are
///   (``keepAlive(lease:ttl:onLost:)``, ``refreshLease(_:)``).
/// - Watches share ONE `Watch` stream per client; after a failover each resumes from the revision after
///   the last it delivered (``watch(_:fromRevision:prevKV:)``).
/// - Streams ask etcd to end them when their member loses the leader (`hasleader`), so a member cut
///   off from the cluster is left for one that is not.
///
/// Call ``shutdown()`` when done: it ends watches, stops keeping leases alive (they then expire after
/// their TTL) and closes the connections.
public final class EtcdConnection: Sendable {
    /// Members, timeouts and limits.
    public let configuration: EtcdConfiguration
    let logger: Logger
    let members: EtcdMembers
    let leaseKeeper: EtcdLeaseKeeper
    let watcher: EtcdWatcher

    /// Metadata that makes etcd end a stream when its member has no leader (etcd's `WithRequireLeader`).
    static let requireLeader: Metadata = ["hasleader": "true"]

    /// A client of the members in `configuration` (at least one). Connects when first used.
    public init(configuration: EtcdConfiguration, logger: Logger = Logger(label: "micro.etcd")) throws {
        guard !configuration.endpoints.isEmpty else { throw EtcdError(.invalidArgument, "no etcd endpoints") }
        self.configuration = configuration
        self.logger = logger
        members = EtcdMembers(configuration: configuration, logger: logger)
        leaseKeeper = EtcdLeaseKeeper(members: members, configuration: configuration, logger: logger)
        watcher = EtcdWatcher(members: members, configuration: configuration, logger: logger)
    }

    /// A client of the members at `endpoints` (`host:port`, `http://host:port`), default settings otherwise.
    public convenience init(endpoints: [String], logger: Logger = Logger(label: "micro.etcd")) throws {
        try self.init(configuration: EtcdConfiguration(endpoints: endpoints.map(EtcdEndpoint.init(parsing:))), logger: logger)
    }

    /// Ends watches and keep-alives, closes the connections. Requests made afterwards fail with
    /// ``EtcdError/Code/shutdown``.
    public func shutdown() async {
        await watcher.shutdown()
        await leaseKeeper.shutdown()
        await members.shutdown()
    }

    // MARK: Keys

    /// The value of `key`, or nil.
    public func get(_ key: String, serializable: Bool = false) async throws -> EtcdKeyValue? {
        try await range(.key(key), limit: 1, serializable: serializable).kvs.first
    }

    /// One read of a range: at most `limit` keys (0: no limit) as of `revision` (0: the newest).
    /// `serializable` reads are answered by the member itself without asking the leader: faster and
    /// available without a leader, but possibly a little behind.
    public func range(_ range: EtcdKeyRange, limit: Int = 0, revision: Int64 = 0, serializable: Bool = false,
                      keysOnly: Bool = false) async throws -> EtcdRangeResult {
        var request = range.rangeRequest
        request.limit = Int64(max(0, limit))
        request.revision = revision
        request.serializable = serializable
        request.keysOnly = keysOnly
        let response = try await call("range") { [request] client, options in
            try await Etcdserverpb_KV.Client(wrapping: client).range(request, options: options)
        }
        return EtcdRangeResult(proto: response)
    }

    /// Every key in `range`, read page by page (``EtcdConfiguration/rangePageSize`` keys each) at one
    /// revision, so the result is consistent and no response exceeds the size limit.
    public func rangeAll(_ range: EtcdKeyRange, serializable: Bool = false) async throws -> EtcdRangeResult {
        let pageSize = max(1, configuration.rangePageSize)
        var kvs: [EtcdKeyValue] = []
        var revision: Int64 = 0
        var next = range
        while true {
            let page = try await self.range(next, limit: pageSize, revision: revision, serializable: serializable)
            if revision == 0 { revision = page.revision }
            kvs += page.kvs
            guard page.more, let last = page.kvs.last else { break }
            // The next page starts just after the last key read.
            next.key = last.key + [0]
        }
        return EtcdRangeResult(revision: revision, kvs: kvs, more: false, count: Int64(kvs.count))
    }

    /// Writes `value` at `key`, attached to `lease` (0: none).
    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: Int64 = 0, prevKV: Bool = false) async throws -> EtcdPutResult {
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key.utf8)
        request.value = Data(value)
        request.lease = lease
        request.prevKv = prevKV
        // A put of a given value is idempotent: retrying one that did land changes nothing but the revision.
        let response = try await call("put") { [request] client, options in
            try await Etcdserverpb_KV.Client(wrapping: client).put(request, options: options)
        }
        return EtcdPutResult(proto: response)
    }

    /// Writes a text value.
    @discardableResult
    public func put(_ key: String, value: String, lease: Int64 = 0) async throws -> EtcdPutResult {
        try await put(key, value: Array(value.utf8), lease: lease)
    }

    /// Deletes the keys in `range`.
    @discardableResult
    public func delete(_ range: EtcdKeyRange, prevKV: Bool = false) async throws -> EtcdDeleteResult {
        var request = range.deleteRequest
        request.prevKv = prevKV
        let response = try await call("delete") { [request] client, options in
            try await Etcdserverpb_KV.Client(wrapping: client).deleteRange(request, options: options)
        }
        return EtcdDeleteResult(proto: response)
    }

    /// Runs a transaction. It is retried on another member only when `idempotent` says running it
    /// twice is harmless: a transaction whose answer was lost may have been applied.
    public func txn(_ txn: EtcdTxn, idempotent: Bool = false) async throws -> EtcdTxnResult {
        let request = txn.proto
        let response = try await call("txn", retry: idempotent) { [request] client, options in
            try await Etcdserverpb_KV.Client(wrapping: client).txn(request, options: options)
        }
        return EtcdTxnResult(proto: response)
    }

    /// Discards the history before `revision` (watches and reads of older revisions then fail with
    /// ``EtcdError/Code/compacted``). etcd keeps every revision until something compacts it.
    public func compact(revision: Int64, physical: Bool = false) async throws {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = physical
        _ = try await call("compact") { [request] client, options in
            try await Etcdserverpb_KV.Client(wrapping: client).compact(request, options: options)
        }
    }

    // MARK: Leases

    /// Grants a lease of `ttl` (rounded up to whole seconds, at least 1). etcd may grant more: it has a
    /// minimum of about 1.5 election timeouts.
    public func grantLease(ttl: Duration) async throws -> EtcdLease {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = Self.seconds(ttl)
        let response = try await call("lease grant") { [request] client, options in
            try await Etcdserverpb_Lease.Client(wrapping: client).leaseGrant(request, options: options)
        }
        guard response.error.isEmpty else { throw EtcdError(.unknown, response.error) }
        guard response.id != 0, response.ttl > 0 else {
            throw EtcdError(.invalidResponse, "lease grant answered id \(response.id), TTL \(response.ttl)")
        }
        return EtcdLease(id: response.id, ttl: response.ttl)
    }

    /// Revokes a lease: its keys are deleted. Revoking a lease that no longer exists is not an error.
    public func revokeLease(_ id: Int64) async throws {
        leaseKeeper.stop(id)
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        do {
            _ = try await call("lease revoke") { [request] client, options in
                try await Etcdserverpb_Lease.Client(wrapping: client).leaseRevoke(request, options: options)
            }
        } catch let error as EtcdError where error.code == .leaseNotFound {
            return
        }
    }

    /// The seconds `id` has left, or nil when it does not exist.
    public func leaseTimeToLive(_ id: Int64) async throws -> Int64? {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id
        do {
            let response = try await call("lease ttl") { [request] client, options in
                try await Etcdserverpb_Lease.Client(wrapping: client).leaseTimeToLive(request, options: options)
            }
            return response.ttl < 0 ? nil : response.ttl
        } catch let error as EtcdError where error.code == .leaseNotFound {
            return nil
        }
    }

    /// Refreshes `id` once, over the client's shared keep-alive stream; returns the TTL it now has.
    /// Throws ``EtcdError/Code/leaseNotFound`` when it expired or was revoked.
    @discardableResult
    public func refreshLease(_ id: Int64) async throws -> Int64 {
        try await leaseKeeper.refreshOnce(id)
    }

    /// Keeps `lease` alive (every third of `ttl`, over the shared keep-alive stream, on whichever member
    /// answers) until ``stopKeepAlive(_:)`` or shutdown. `onLost` is called if etcd reports it gone
    /// (it expired while no member could be reached, or someone revoked it).
    public func keepAlive(lease id: Int64, ttl: Int64, onLost: (@Sendable (Int64) -> Void)? = nil) throws {
        try leaseKeeper.keepAlive(id, ttl: ttl, onLost: onLost)
    }

    /// Stops keeping `id` alive; it expires after its TTL unless refreshed or revoked.
    public func stopKeepAlive(_ id: Int64) {
        leaseKeeper.stop(id)
    }

    // MARK: Watches

    /// Watches `range` from `fromRevision` (0: from now on). The events arrive in batches, in revision
    /// order; see ``EtcdWatch`` for how a watch ends.
    public func watch(_ range: EtcdKeyRange, fromRevision: Int64 = 0, prevKV: Bool = false) -> EtcdWatch {
        watcher.watch(range, fromRevision: fromRevision, prevKV: prevKV)
    }

    // MARK: Cluster

    /// The status of the member in use (its id, the leader it knows, its version).
    public func status() async throws -> EtcdMemberStatus {
        let endpoint = members.activeEndpoint.description
        let response = try await call("status") { client, options in
            try await Etcdserverpb_Maintenance.Client(wrapping: client).status(Etcdserverpb_StatusRequest(), options: options)
        }
        return EtcdMemberStatus(memberID: response.header.memberID, leaderID: response.leader, raftTerm: response.raftTerm,
                                version: response.version, endpoint: endpoint)
    }

    /// The members of the cluster.
    public func memberList() async throws -> [EtcdMember] {
        let response = try await call("member list") { client, options in
            try await Etcdserverpb_Cluster.Client(wrapping: client).memberList(Etcdserverpb_MemberListRequest(), options: options)
        }
        return response.members.map {
            EtcdMember(id: $0.id, name: $0.name, clientURLs: $0.clientUrls, peerURLs: $0.peerUrls, isLearner: $0.isLearner)
        }
    }

    // MARK: Observability

    /// Counters of the client's streams and failovers.
    public struct Statistics: Sendable, Hashable {
        /// `LeaseKeepAlive` streams opened so far (1 while no member failed).
        public var keepAliveStreamsOpened: Int
        /// Whether a `LeaseKeepAlive` stream is open now (never more than one).
        public var keepAliveStreamOpen: Bool
        /// Leases kept alive continuously.
        public var keptLeases: Int
        /// `Watch` streams opened so far.
        public var watchStreamsOpened: Int
        /// Whether a `Watch` stream is open now (never more than one).
        public var watchStreamOpen: Bool
        /// Watches open.
        public var watches: Int
        /// How often the client moved to another member.
        public var failovers: Int
        /// How often a connection was replaced because it carried ``EtcdConfiguration/connectionCallBudget`` requests.
        public var connectionRotations: Int
        /// The member in use.
        public var activeEndpoint: EtcdEndpoint
    }

    /// The client's counters now.
    public var statistics: Statistics {
        let k = leaseKeeper.streams, w = watcher.streams
        return Statistics(keepAliveStreamsOpened: k.opened, keepAliveStreamOpen: k.active, keptLeases: leaseKeeper.keptLeases,
                          watchStreamsOpened: w.opened, watchStreamOpen: w.active, watches: watcher.count,
                          failovers: members.failovers, connectionRotations: members.rotations, activeEndpoint: members.activeEndpoint)
    }

    /// The member in use.
    public var activeEndpoint: EtcdEndpoint { members.activeEndpoint }

    // MARK: Requests with failover

    /// Runs `body` on the member in use; on a retryable failure moves to the next member and tries
    /// again, with backoff, within the operation timeout.
    func call<R: Sendable>(_ what: String, retry: Bool = true,
                           _ body: @Sendable (EtcdMembers.Client, CallOptions) async throws -> R) async throws -> R {
        let start = ContinuousClock.now
        var attempt = 0
        let maxAttempts = max(3, configuration.endpoints.count * 2 + 1)
        while true {
            if Task.isCancelled { throw EtcdError(.cancelled, "\(what) cancelled") }
            let member = try members.current(request: true)
            let remaining = configuration.operationTimeout - (ContinuousClock.now - start)
            var options = CallOptions.defaults
            // During a failover a member may hold a write for a leader that is gone: give up on it sooner.
            let failingOver = attempt > 0 || members.failingOver
            let attemptTimeout = failingOver ? min(configuration.requestTimeout, configuration.retryRequestTimeout) : configuration.requestTimeout
            options.timeout = max(.milliseconds(1), min(attemptTimeout, remaining))
            options.waitForReady = false
            options.maxResponseMessageBytes = configuration.maxResponseBytes
            options.maxRequestMessageBytes = configuration.maxRequestBytes
            do {
                let result = try await body(member.client, options)
                members.succeeded(member.index)
                return result
            } catch {
                let e = EtcdError.from(error, endpoint: member.endpoint.description)
                if e.code == .cancelled || Task.isCancelled { throw e }
                guard e.isRetryable else { throw e }
                members.failed(member.index, error: e)
                attempt += 1
                let elapsed = ContinuousClock.now - start
                guard retry, attempt < maxAttempts, elapsed < configuration.operationTimeout else { throw e }
                logger.debug("etcd request failed, trying again", metadata: ["request": "\(what)", "attempt": "\(attempt)", "error": "\(e)"])
                let pause = min(Self.backoff(attempt: attempt, configuration: configuration), configuration.operationTimeout - elapsed)
                try? await Task.sleep(for: pause)
            }
        }
    }

    /// Options of the long-lived streams: no deadline, fail at once when the member is unreachable.
    static func streamOptions(_ configuration: EtcdConfiguration) -> CallOptions {
        var options = CallOptions.defaults
        options.waitForReady = false
        options.maxResponseMessageBytes = configuration.maxResponseBytes
        options.maxRequestMessageBytes = configuration.maxRequestBytes
        return options
    }

    /// The pause before attempt `attempt` (1-based): ``EtcdConfiguration/retryBackoff`` doubling, capped.
    static func backoff(attempt: Int, configuration: EtcdConfiguration) -> Duration {
        var pause = configuration.retryBackoff
        for _ in 1..<max(1, min(attempt, 20)) {
            pause *= 2
            if pause >= configuration.maxRetryBackoff { return configuration.maxRetryBackoff }
        }
        return min(pause, configuration.maxRetryBackoff)
    }

    /// `duration` in whole seconds, rounded up, at least 1.
    package static func seconds(_ duration: Duration) -> Int64 {
        let (s, atto) = duration.components
        return max(1, s + (atto > 0 ? 1 : 0))
    }
}
