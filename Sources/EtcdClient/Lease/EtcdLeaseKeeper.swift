import GRPCCore
import Logging
import Synchronization

/// The one `LeaseKeepAlive` stream of an ``EtcdConnection``, shared by every lease it keeps alive.
///
/// Opened with the first lease, it stays open until the client shuts down. When it breaks (the member
/// died, lost its leader, or stopped answering) it opens again on the next member and at once refreshes
/// every lease it keeps, so a lease outlives the loss of a member as long as another one answers within
/// its TTL.
final class EtcdLeaseKeeper: Sendable {
    private struct Inner {
        var machine: EtcdKeepAliveState
        var waiters: [UInt64: CheckedContinuation<Int64, any Error>] = [:]
        var onLost: [Int64: @Sendable (Int64) -> Void] = [:]
        var outbox: AsyncStream<Int64>.Continuation?
        var wakeWaiter: CheckedContinuation<Void, Never>?
        var wakePending = false
        var task: Task<Void, Never>?
        var nextToken: UInt64 = 0
        var opened = 0
        var active = false
        var closed = false
    }

    private let members: EtcdMembers
    private let configuration: EtcdConfiguration
    private let logger: Logger
    private let inner: Mutex<Inner>

    init(members: EtcdMembers, configuration: EtcdConfiguration, logger: Logger) {
        self.members = members
        self.configuration = configuration
        self.logger = logger
        inner = Mutex(Inner(machine: EtcdKeepAliveState()))
    }

    /// Streams opened so far (1 while nothing failed), and whether one is open now.
    var streams: (opened: Int, active: Bool) { inner.withLock { ($0.opened, $0.active) } }
    /// Leases kept alive continuously.
    var keptLeases: Int { inner.withLock { $0.machine.continuousCount } }

    /// Keeps `id` alive until ``stop(_:)``; `onLost` hears if etcd says it is gone.
    func keepAlive(_ id: Int64, ttl: Int64, onLost: (@Sendable (Int64) -> Void)?) throws {
        let waiter = try inner.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.closed else { throw EtcdError(.shutdown, "the etcd client is shut down") }
            if s.machine.leases[id] == nil, s.machine.continuousCount >= configuration.maxKeepAliveLeases {
                throw EtcdError(.resourceExhausted, "more than \(configuration.maxKeepAliveLeases) leases kept alive")
            }
            s.machine.keepAlive(id, ttl: ttl, now: .now)
            s.onLost[id] = onLost
            startIfNeeded(&s)
            return Self.wake(&s)
        }
        waiter?.resume()
    }

    /// Stops keeping `id` alive (it expires after its TTL unless revoked).
    func stop(_ id: Int64) {
        inner.withLock { s in
            s.machine.stop(id)
            s.onLost[id] = nil
        }
    }

    /// Refreshes `id` once over the shared stream; returns the TTL etcd granted.
    func refreshOnce(_ id: Int64) async throws -> Int64 {
        let token = try inner.withLock { s -> UInt64 in
            guard !s.closed else { throw EtcdError(.shutdown, "the etcd client is shut down") }
            s.nextToken += 1
            return s.nextToken
        }
        let timeout = configuration.operationTimeout
        return try await withThrowingTaskGroup(of: Int64.self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int64, any Error>) in
                        let (failure, waiter) = self.inner.withLock { s -> (EtcdError?, CheckedContinuation<Void, Never>?) in
                            guard !s.closed else { return (EtcdError(.shutdown, "the etcd client is shut down"), nil) }
                            guard !Task.isCancelled else { return (EtcdError(.cancelled, "cancelled"), nil) }
                            s.waiters[token] = c
                            if s.machine.refreshOnce(id, waiter: token, now: .now) { s.outbox?.yield(id) }
                            self.startIfNeeded(&s)
                            return (nil, Self.wake(&s))
                        }
                        waiter?.resume()
                        if let failure { c.resume(throwing: failure) }
                    }
                } onCancel: {
                    let c = self.inner.withLock { s -> CheckedContinuation<Int64, any Error>? in
                        s.machine.cancel(waiter: token, lease: id)
                        return s.waiters.removeValue(forKey: token)
                    }
                    c?.resume(throwing: EtcdError(.cancelled, "cancelled"))
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw EtcdError(.timeout, "no keep-alive answer for lease \(id) within \(timeout)")
            }
            defer { group.cancelAll() }
            guard let ttl = try await group.next() else { throw EtcdError(.cancelled, "cancelled") }
            return ttl
        }
    }

    /// Ends the stream and fails every waiter.
    func shutdown() async {
        let (task, waiters, wake) = inner.withLock { s -> (Task<Void, Never>?, [CheckedContinuation<Int64, any Error>], CheckedContinuation<Void, Never>?) in
            s.closed = true
            _ = s.machine.removeAll()
            let w = Array(s.waiters.values)
            s.waiters = [:]
            s.onLost = [:]
            s.outbox?.finish()
            return (s.task, w, Self.wake(&s))
        }
        wake?.resume()
        for w in waiters { w.resume(throwing: EtcdError(.shutdown, "the etcd client is shut down")) }
        task?.cancel()
        await task?.value
    }

    /// Wakes the ticker (to resume outside the lock), or leaves a note for it if it is busy.
    private static func wake(_ s: inout Inner) -> CheckedContinuation<Void, Never>? {
        if let c = s.wakeWaiter {
            s.wakeWaiter = nil
            return c
        }
        s.wakePending = true
        return nil
    }

    private func startIfNeeded(_ s: inout Inner) {
        guard s.task == nil, !s.closed else { return }
        s.task = Task { [self] in await supervise() }
    }

    // MARK: The stream

    /// Opens the stream, and again on the next member whenever it ends, until shutdown.
    private func supervise() async {
        var failures = 0
        while !Task.isCancelled {
            let member: (index: Int, endpoint: EtcdEndpoint, client: EtcdMembers.Client)
            do { member = try members.current() } catch { break }
            let started = ContinuousClock.now
            let error = await runStream(on: member)
            if inner.withLock({ $0.closed }) || Task.isCancelled { break }
            logger.debug("etcd keep-alive stream ended", metadata: ["endpoint": "\(member.endpoint)", "error": "\(error)"])
            if error.code != .cancelled { members.failed(member.index, error: error) }
            // A stream that lived a while was healthy: start the backoff over.
            failures = ContinuousClock.now - started > .seconds(10) ? 1 : failures + 1
            let pause = EtcdConnection.backoff(attempt: failures, configuration: configuration)
            try? await Task.sleep(for: pause)
        }
    }

    private func runStream(on member: (index: Int, endpoint: EtcdEndpoint, client: EtcdMembers.Client)) async -> EtcdError {
        let (outbox, outboxContinuation) = AsyncStream<Int64>.makeStream(bufferingPolicy: .unbounded)
        let proceed = inner.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.outbox = outboxContinuation
            s.opened += 1
            s.active = true
            for id in s.machine.streamOpened(now: .now) { outboxContinuation.yield(id) }
            return true
        }
        guard proceed else { return EtcdError(.shutdown, "the etcd client is shut down") }
        defer {
            inner.withLock { s in
                s.outbox = nil
                s.active = false
            }
            outboxContinuation.finish()
        }
        let lease = Etcdserverpb_Lease.Client(wrapping: member.client)
        let options = EtcdConnection.streamOptions(configuration)
        let endpoint = member.endpoint.description
        let index = member.index
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await lease.leaseKeepAlive(metadata: EtcdConnection.requireLeader, options: options, requestProducer: { writer in
                        for await id in outbox {
                            var request = Etcdserverpb_LeaseKeepAliveRequest()
                            request.id = id
                            try await writer.write(request)
                        }
                    }, onResponse: { response in
                        for try await message in response.messages {
                            self.members.succeeded(index)
                            self.answered(message)
                        }
                    })
                    throw EtcdError(.unavailable, "the keep-alive stream ended", endpoint: endpoint)
                }
                group.addTask { try await self.tick(endpoint: endpoint) }
                try await group.next()
                group.cancelAll()
            }
            return EtcdError(.unavailable, "the keep-alive stream ended", endpoint: endpoint)
        } catch {
            return EtcdError.from(error, endpoint: endpoint)
        }
    }

    /// Sends refreshes when due; fails the stream when refreshes go unanswered for a request timeout.
    private func tick(endpoint: String) async throws {
        while !Task.isCancelled {
            let (next, stale) = inner.withLock { s -> (ContinuousClock.Instant?, Bool) in
                let now = ContinuousClock.now
                for id in s.machine.due(now: now) { s.outbox?.yield(id) }
                let stale = s.machine.oldestOutstanding.map { now - $0 > configuration.requestTimeout } ?? false
                return (s.machine.nextDeadline, stale)
            }
            if stale { throw EtcdError(.timeout, "keep-alive refreshes unanswered for \(configuration.requestTimeout)", endpoint: endpoint) }
            // Until the next refresh is due or something new arrives (at most a second, to check staleness).
            let until = min(next ?? .now + .seconds(1), .now + .seconds(1))
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(until: until, clock: .continuous) }
                group.addTask { await self.waitForWake() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func waitForWake() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = inner.withLock { s -> Bool in
                    if s.wakePending || s.closed || Task.isCancelled {
                        s.wakePending = false
                        return true
                    }
                    s.wakeWaiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = inner.withLock { s -> CheckedContinuation<Void, Never>? in
                let c = s.wakeWaiter
                s.wakeWaiter = nil
                return c
            }
            c?.resume()
        }
    }

    private func answered(_ message: Etcdserverpb_LeaseKeepAliveResponse) {
        let (answer, continuations, lostHandler) = inner.withLock { s in
            let answer = s.machine.answered(message.id, ttl: message.ttl, now: .now)
            let cs = answer.waiters.compactMap { s.waiters.removeValue(forKey: $0) }
            let handler = answer.lost ? s.onLost.removeValue(forKey: message.id) : nil
            return (answer, cs, handler)
        }
        if answer.lost {
            for c in continuations { c.resume(throwing: EtcdError(.leaseNotFound, "lease \(message.id) not found")) }
            if answer.wasContinuous {
                logger.warning("etcd lease lost", metadata: ["lease": "\(message.id)"])
                lostHandler?(message.id)
            }
        } else {
            for c in continuations { c.resume(returning: message.ttl) }
        }
    }
}
