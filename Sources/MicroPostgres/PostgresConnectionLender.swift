import MicroCore
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import Synchronization

/// The connections a ``PostgresStoreClient`` keeps leased from its `PostgresClient` and lends to
/// operations, and the deadline of each operation.
///
/// A holder task (one per connection, owned by the client's ``OwnedTasks``) leases a connection from
/// the pool and parks inside the lease until the connection is retired; meanwhile operations borrow
/// the connection from an idle list under a lock, in the caller's own task: no task, no pool
/// round trip and no timer per operation. An operation that finds no idle connection waits in a
/// queue this type owns, so its deadline (a timer, only on that path) or its cancellation takes it
/// out; a holder is started for it unless the pool's size is reached. A borrowed connection's
/// deadline is checked by one repeating task per connection on its event loop, which closes the
/// connection once the deadline has passed (failing the statement in flight, as a cancellation does).
/// A connection found closed, closed by its deadline or by a cancellation, or idle for
/// ``idleRelease``, is retired: its holder ends its lease and the pool takes it back.
final class PostgresConnectionLender: Sendable {
    /// One leased connection and the state of the operation that has borrowed it.
    final class Slot: Sendable {
        let connection: PostgresConnection
        /// The uptime in nanoseconds by which the borrowing operation must end; 0 while idle.
        fileprivate let deadline = Atomic<UInt64>(0)
        /// When it was last given back (uptime nanoseconds).
        fileprivate let returned = Atomic<UInt64>(0)
        /// Whether the deadline check closed the connection.
        fileprivate let expired = Atomic<Bool>(false)
        /// Whether the connection was closed under the operation (deadline or cancellation): it is retired.
        fileprivate let doomed = Atomic<Bool>(false)
        /// Whether a statement has gone out since the last ``resetSent()``.
        private let sent = Atomic<Bool>(false)

        fileprivate init(connection: PostgresConnection) {
            self.connection = connection
        }

        /// Whether the deadline check closed the connection under the operation.
        var timedOut: Bool { expired.load(ordering: .acquiring) }

        /// Whether a statement has gone out since the last ``resetSent()``.
        var hasSent: Bool { sent.load(ordering: .acquiring) }

        func noteSent() { sent.store(true, ordering: .releasing) }

        func resetSent() { sent.store(false, ordering: .releasing) }

        /// Closes the connection under the operation (the caller gave up): the statement in flight
        /// fails and the connection is retired when given back.
        func abandon() {
            doomed.store(true, ordering: .releasing)
            let closing: EventLoopFuture<Void> = connection.close()
            _ = closing
        }

        /// Prepares the slot for an operation that must end by `deadline`.
        fileprivate func lend(until deadline: NIODeadline) {
            expired.store(false, ordering: .relaxed)
            sent.store(false, ordering: .relaxed)
            self.deadline.store(max(deadline.uptimeNanoseconds, 1), ordering: .releasing)
        }
    }

    /// No connection came within the operation's deadline.
    struct DeadlinePassed: Error {}

    /// A holder's lease from the pool failed (nothing was sent): `underlying` says why.
    struct LeaseFailed: Error {
        let underlying: any Error
    }

    private struct Waiter {
        let id: UInt64
        let deadline: NIODeadline
        let continuation: CheckedContinuation<Slot, any Error>
        var timer: Scheduled<Void>?
    }

    private struct State {
        /// Connections nobody borrows, the most recently given back last (taken first: warm).
        var idle: [Slot] = []
        /// Operations waiting for a connection, oldest first.
        var waiters: [Waiter] = []
        /// Holder tasks running (leasing or holding a connection).
        var holders = 0
        /// Each holder's parked lease, by its slot.
        var parked: [ObjectIdentifier: CheckedContinuation<Void, Never>] = [:]
        var closed = false
    }

    private let state = NIOLockedValueBox(State())
    private let nextWaiter = Atomic<UInt64>(0)
    private let client: PostgresClient
    private let runner: OwnedTasks
    private let maximum: Int
    private let checkInterval: TimeAmount
    /// A connection idle this long goes back to the pool (which keeps it alive or closes it).
    static let idleRelease: TimeAmount = .seconds(30)

    /// Lends connections of `client`, at most `maximum`, with holders started in `runner`; deadlines
    /// are checked every `checkInterval`.
    init(client: PostgresClient, runner: OwnedTasks, maximum: Int, checkInterval: TimeAmount) {
        self.client = client
        self.runner = runner
        self.maximum = maximum
        self.checkInterval = checkInterval
    }

    /// A connection for an operation that must end by `deadline`: an idle one at once, or the first
    /// to come. Throws ``DeadlinePassed`` when none comes by then, ``LeaseFailed`` when the pool
    /// refused a lease, `closed` once ``close(_:)`` ran, and `CancellationError` when the caller is cancelled.
    func borrow(until deadline: NIODeadline, closed: @autoclosure () -> any Error) async throws -> Slot {
        var stale: [CheckedContinuation<Void, Never>] = []
        let found = try state.withLockedValue { s -> Slot? in
            if s.closed { throw closed() }
            while let slot = s.idle.popLast() {
                if slot.connection.isClosed {
                    if let parked = s.parked.removeValue(forKey: ObjectIdentifier(slot)) { stale.append(parked) }
                    continue
                }
                return slot
            }
            return nil
        }
        for parked in stale { parked.resume() }
        if let found {
            found.lend(until: deadline)
            return found
        }
        return try await wait(until: deadline, closed: closed())
    }

    /// Gives `slot` back after an operation: to the oldest waiter, to the idle list, or (closed or
    /// abandoned) back to the pool.
    func giveBack(_ slot: Slot) {
        slot.deadline.store(0, ordering: .releasing)
        slot.returned.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        let retire = slot.doomed.load(ordering: .acquiring) || slot.connection.isClosed
        enum Next { case none, retire(CheckedContinuation<Void, Never>?), hand(Waiter) }
        let next = state.withLockedValue { s -> Next in
            if retire || s.closed { return .retire(s.parked.removeValue(forKey: ObjectIdentifier(slot))) }
            if !s.waiters.isEmpty { return .hand(s.waiters.removeFirst()) }
            s.idle.append(slot)
            return .none
        }
        switch next {
        case .none: break
        case .retire(let parked): parked?.resume()
        case .hand(let waiter): hand(slot, to: waiter)
        }
    }

    /// Fails every waiter with `error`, retires every idle connection and refuses later borrows
    /// (borrowed connections are retired as they come back).
    func close(_ error: any Error) {
        let (waiters, parked) = state.withLockedValue { s -> ([Waiter], [CheckedContinuation<Void, Never>]) in
            s.closed = true
            let waiters = s.waiters
            s.waiters = []
            let parked = s.idle.compactMap { s.parked.removeValue(forKey: ObjectIdentifier($0)) }
            s.idle = []
            return (waiters, parked)
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: error)
        }
        for continuation in parked { continuation.resume() }
    }

    // MARK: Waiting

    private func wait(until deadline: NIODeadline, closed: @autoclosure () -> any Error) async throws -> Slot {
        let id = nextWaiter.add(1, ordering: .relaxed).newValue
        let closedError = closed()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Slot, any Error>) in
                let spawn = state.withLockedValue { s -> Bool? in
                    if s.closed { return nil }
                    s.waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                    guard s.holders < maximum else { return false }
                    s.holders += 1
                    return true
                }
                guard let spawn else {
                    continuation.resume(throwing: closedError)
                    return
                }
                if spawn { startHolder() }
                let timer = PostgresClient.defaultEventLoopGroup.any().scheduleTask(deadline: deadline) { [self] in
                    expire(id, DeadlinePassed())
                }
                let armed = state.withLockedValue { s -> Bool in
                    guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    s.waiters[index].timer = timer
                    return true
                }
                if !armed { timer.cancel() }
                // A cancellation that came before the waiter was queued found nothing to take out.
                if Task.isCancelled { expire(id, CancellationError()) }
            }
        } onCancel: {
            expire(id, CancellationError())
        }
    }

    /// Takes waiter `id` out of the queue (if it still waits) and fails it with `error`.
    private func expire(_ id: UInt64, _ error: any Error) {
        let waiter = state.withLockedValue { s -> Waiter? in
            guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    private func hand(_ slot: Slot, to waiter: Waiter) {
        waiter.timer?.cancel()
        slot.lend(until: waiter.deadline)
        waiter.continuation.resume(returning: slot)
    }

    // MARK: Holders

    private func startHolder() {
        if runner.spawn({ [self] in await hold() }) == nil { holderEnded(nil) }
    }

    /// Leases one connection and lends it until it is retired; then the lease ends.
    private func hold() async {
        do {
            try await client.withConnection { connection in
                let slot = Slot(connection: connection)
                slot.returned.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
                let checking = connection.eventLoop.scheduleRepeatedTask(initialDelay: checkInterval, delay: checkInterval) { [self] _ in
                    check(slot)
                }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in park(slot, continuation) }
                } onCancel: {
                    // Only ``close(_:)`` cancels holders, and it retires idle connections; one still lent
                    // is closed under its operation so that its lease ends now.
                    slot.abandon()
                }
                checking.cancel()
            }
            holderEnded(nil)
        } catch {
            holderEnded(error)
        }
    }

    /// Registers `slot`'s holder as parked and offers the connection: to the oldest waiter, else to the idle list.
    private func park(_ slot: Slot, _ continuation: CheckedContinuation<Void, Never>) {
        enum Next { case none, release, hand(Waiter) }
        let next = state.withLockedValue { s -> Next in
            if s.closed { return .release }
            s.parked[ObjectIdentifier(slot)] = continuation
            if !s.waiters.isEmpty { return .hand(s.waiters.removeFirst()) }
            s.idle.append(slot)
            return .none
        }
        switch next {
        case .none: break
        case .release: continuation.resume()
        case .hand(let waiter): hand(slot, to: waiter)
        }
    }

    /// A holder ended (its lease failed with `failure`, or its connection was retired): the oldest
    /// waiter learns of a failed lease (and tries again); waiters left get a holder of their own.
    private func holderEnded(_ failure: (any Error)?) {
        let (failed, spawn) = state.withLockedValue { s -> (Waiter?, Bool) in
            s.holders -= 1
            if s.closed { return (nil, false) }
            let failed = failure != nil && !s.waiters.isEmpty ? s.waiters.removeFirst() : nil
            guard s.waiters.count > 0, s.holders < maximum else { return (failed, false) }
            s.holders += 1
            return (failed, true)
        }
        if let failed, let failure {
            failed.timer?.cancel()
            failed.continuation.resume(throwing: LeaseFailed(underlying: failure))
        }
        if spawn { startHolder() }
    }

    /// On `slot`'s event loop, every ``checkInterval``: closes the connection once its operation's
    /// deadline has passed, and retires it once idle for ``idleRelease``.
    private func check(_ slot: Slot) {
        let now = NIODeadline.now().uptimeNanoseconds
        let deadline = slot.deadline.load(ordering: .acquiring)
        if deadline != 0 {
            guard now >= deadline else { return }
            slot.expired.store(true, ordering: .releasing)
            slot.abandon()
            return
        }
        guard now &- slot.returned.load(ordering: .relaxed) >= UInt64(Self.idleRelease.nanoseconds) else { return }
        let parked = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            guard let index = s.idle.firstIndex(where: { $0 === slot }) else { return nil }
            s.idle.remove(at: index)
            return s.parked.removeValue(forKey: ObjectIdentifier(slot))
        }
        parked?.resume()
    }
}
