import Foundation
import Logging
import Synchronization

/// An ``EventStream`` in process memory (`MICRO_EVENTS=memory`): topics are logs that keep their
/// latest ``maxEventsPerTopic`` events (100,000 by default; older ones go, whether every group got
/// them or not); groups keep their place while the stream lives. For tests and single processes;
/// nothing survives the process.
///
/// Ids are remembered per topic for ``duplicateWindow`` (2 minutes by default, as JetStream's).
/// A group's settings (ack wait, max deliveries, dead-letter topic) are those of its first consumer; a
/// consumer that joins with others gets ``EventsError/Code/conflict``.
public final class MemoryEventStream: EventStream {
    /// Always `memory`.
    public let name = "memory"
    public let limits: EventLimits
    /// How long an id is remembered for deduplication.
    public var duplicateWindow: Duration { state.withLock { $0.log.duplicateWindow } }
    /// The most events a topic keeps.
    public var maxEventsPerTopic: Int { state.withLock { $0.log.maxEventsPerTopic } }
    private let logger: Logger
    private let closeOnShutdown: Bool

    private struct State {
        var log: MemoryEventLog
        var closed = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state: Mutex<State>

    /// An empty stream.
    /// With `closeOnShutdown` false, ``shutdown()`` leaves the stream open (the process-wide one that
    /// `MICRO_EVENTS=memory` gives every service).
    public init(limits: EventLimits = EventLimits(), duplicateWindow: Duration = .seconds(120), maxEventsPerTopic: Int = 100_000,
                closeOnShutdown: Bool = true, logger: Logger = Logger(label: "micro.events.memory")) {
        self.limits = limits
        self.closeOnShutdown = closeOnShutdown
        self.logger = logger
        state = Mutex(State(log: MemoryEventLog(duplicateWindow: duplicateWindow, maxEventsPerTopic: maxEventsPerTopic)))
    }

    @discardableResult
    public func publish(_ event: Event) async throws -> EventReceipt {
        try limits.validate(event)
        let (receipt, waiters) = try state.withLock { s in
            guard !s.closed else { throw EventsError(.unavailable, "the memory event stream is shut down") }
            let receipt = s.log.append(event, now: .now, wall: Date())
            return (receipt, Self.takeWaiters(&s))
        }
        for waiter in waiters { waiter.resume() }
        return receipt
    }

    public func consume(_ topic: String, options: ConsumeOptions) async throws -> EventConsumer {
        try options.validate(topic: topic)
        let group = options.group ?? "consumer-" + UUID().uuidString.lowercased()
        let key = MemoryEventLog.GroupKey(topic: topic, group: group)
        try state.withLock { s in
            guard !s.closed else { throw EventsError(.unavailable, "the memory event stream is shut down") }
            try s.log.join(key, options: options, ephemeral: options.group == nil)
        }
        return EventConsumer(topic: topic, group: group, source: Source(stream: self, key: key, logger: logger))
    }

    /// Ends every consumer (unless made with `closeOnShutdown` false); later publishes and consumes fail with ``EventsError/Code/unavailable``.
    public func shutdown() async {
        guard closeOnShutdown else { return }
        let waiters = state.withLock { s in
            s.closed = true
            return Self.takeWaiters(&s)
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Consumers

    private static func takeWaiters(_ s: inout State) -> [CheckedContinuation<Void, Never>] {
        defer { s.waiters = [:] }
        return Array(s.waiters.values)
    }

    /// The next delivery for `key`, waiting for one; nil when the stream or `closed` closes, or the task is cancelled.
    fileprivate func next(_ key: MemoryEventLog.GroupKey, isClosed: () -> Bool) async -> Event? {
        while true {
            if Task.isCancelled || isClosed() { return nil }
            let taken: (MemoryEventLog.Delivery?, ContinuousClock.Instant?, [CheckedContinuation<Void, Never>])? = state.withLock { s in
                guard !s.closed else { return nil }
                let now = ContinuousClock.now
                let delivery = s.log.take(key, now: now, wall: Date())
                // A take may dead-letter events: wake whoever waits for the dead-letter topic.
                return (delivery, s.log.nextDeadline(key), delivery == nil ? [] : Self.takeWaiters(&s))
            }
            guard let taken else { return nil }
            let (delivery, deadline, woken) = taken
            for waiter in woken { waiter.resume() }
            if let delivery {
                var event = delivery.event
                event.acknowledger = Acknowledger(stream: self, key: key, sequence: event.sequence, attempt: delivery.attempt)
                return event
            }
            await wait(key, until: deadline)
        }
    }

    /// Waits until something is published or given back, `deadline` passes, or the task is cancelled.
    private func wait(_ key: MemoryEventLog.GroupKey, until deadline: ContinuousClock.Instant?) async {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let now = state.withLock { s -> Bool in
                            if s.closed || Task.isCancelled || s.log.hasWork(key, now: .now) { return true }
                            s.waiters[id] = continuation
                            return false
                        }
                        if now { continuation.resume() }
                    }
                } onCancel: {
                    state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
                }
            }
            if let deadline {
                group.addTask { try? await Task.sleep(until: deadline) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    fileprivate func settle(_ key: MemoryEventLog.GroupKey, sequence: UInt64, attempt: UInt64, ack: Bool) throws {
        let waiters = try state.withLock { s in
            guard !s.closed else { throw EventsError(.unavailable, "the memory event stream is shut down") }
            if ack {
                s.log.ack(key, sequence: sequence)
                return [CheckedContinuation<Void, Never>]()
            }
            s.log.nack(key, sequence: sequence, attempt: attempt, now: .now, wall: Date())
            return Self.takeWaiters(&s)
        }
        for waiter in waiters { waiter.resume() }
    }

    fileprivate func leave(_ key: MemoryEventLog.GroupKey) {
        let waiters = state.withLock { s in
            s.log.leave(key)
            return Self.takeWaiters(&s)
        }
        for waiter in waiters { waiter.resume() }
    }

    private struct Acknowledger: EventAcknowledger {
        let stream: MemoryEventStream
        let key: MemoryEventLog.GroupKey
        let sequence: UInt64
        let attempt: UInt64

        func ack() async throws { try stream.settle(key, sequence: sequence, attempt: attempt, ack: true) }
        func nack() async throws { try stream.settle(key, sequence: sequence, attempt: attempt, ack: false) }
    }

    private final class Source: EventSource {
        let stream: MemoryEventStream
        let key: MemoryEventLog.GroupKey
        let logger: Logger
        let closed = Mutex(false)

        init(stream: MemoryEventStream, key: MemoryEventLog.GroupKey, logger: Logger) {
            self.stream = stream
            self.key = key
            self.logger = logger
        }

        func next() async throws -> Event? {
            await stream.next(key, isClosed: { closed.withLock { $0 } })
        }

        func close() async {
            let first = closed.withLock { c -> Bool in
                defer { c = true }
                return !c
            }
            if first { stream.leave(key) }
        }
    }
}
