import Foundation

/// The state machine of a ``MemoryEventStream``: every topic's events, every group's place, its
/// deliveries waiting for acknowledgement and the events it gets again. Pure: no locks, no clocks of
/// its own (the caller passes `now`), no tasks.
struct MemoryEventLog {
    struct GroupKey: Hashable {
        var topic: String
        var group: String
    }

    private struct Stored {
        var event: Event
        var storedAt: Date
    }

    private struct Topic {
        var events: [Stored] = []
        /// How many of the topic's oldest events were dropped (``maxEventsPerTopic``): the absolute
        /// position of ``events``' first element.
        var dropped = 0
        /// Sequence → absolute position (subtract ``dropped`` for the index in ``events``).
        var index: [UInt64: Int] = [:]

        /// The event at absolute position `position`, nil when it was dropped or is not there yet.
        func event(at position: Int) -> Event? {
            let i = position - dropped
            return events.indices.contains(i) ? events[i].event : nil
        }

        /// The absolute position after the last event.
        var end: Int { dropped + events.count }
        /// Id → (sequence, when it was stored), for deduplication within the window.
        var ids: [String: (sequence: UInt64, at: ContinuousClock.Instant)] = [:]
    }

    private struct InFlight {
        var attempt: UInt64
        var deadline: ContinuousClock.Instant
    }

    private struct Group {
        var ackWait: Duration
        var maxDeliveries: Int?
        var deadLetterTopic: String
        var autoAck: Bool
        var ephemeral: Bool
        /// The absolute position in the topic of the next event never delivered to the group.
        var next: Int
        /// Deliveries waiting for their acknowledgement, by sequence.
        var inFlight: [UInt64: InFlight] = [:]
        /// Events to deliver again, in order.
        var again: [UInt64] = []
        /// How often each event in flight or waiting to go again was delivered.
        var deliveries: [UInt64: Int] = [:]
    }

    /// A delivery handed out: the event and the attempt that ack and nack name.
    struct Delivery {
        var event: Event
        var attempt: UInt64
    }

    let duplicateWindow: Duration
    /// The most events a topic keeps; past it the oldest go, delivered to every group or not.
    let maxEventsPerTopic: Int
    private var sequence: UInt64 = 0
    private var attempts: UInt64 = 0
    private var topics: [String: Topic] = [:]
    private var groups: [GroupKey: Group] = [:]

    init(duplicateWindow: Duration, maxEventsPerTopic: Int) {
        self.duplicateWindow = duplicateWindow
        self.maxEventsPerTopic = max(1, maxEventsPerTopic)
    }

    // MARK: Publishing

    /// Appends `event` (validated by the caller) unless its id is in the topic within the window.
    mutating func append(_ event: Event, now: ContinuousClock.Instant, wall: Date) -> EventReceipt {
        var topic = topics[event.topic] ?? Topic()
        if let seen = topic.ids[event.id], now - seen.at < duplicateWindow {
            return EventReceipt(id: event.id, sequence: seen.sequence, duplicate: true)
        }
        sequence += 1
        var stored = event
        stored.sequence = sequence
        stored.deliveries = 0
        stored.acknowledger = nil
        topic.index[sequence] = topic.end
        topic.events.append(Stored(event: stored, storedAt: wall))
        if topic.events.count > maxEventsPerTopic {
            let excess = topic.events.count - maxEventsPerTopic
            for old in topic.events.prefix(excess) { topic.index[old.event.sequence] = nil }
            topic.events.removeFirst(excess)
            topic.dropped += excess
        }
        topic.ids[event.id] = (sequence, now)
        if topic.ids.count > 4096 { topic.ids = topic.ids.filter { now - $0.value.at < duplicateWindow } }
        topics[event.topic] = topic
        return EventReceipt(id: event.id, sequence: sequence, duplicate: false)
    }

    // MARK: Groups

    /// Makes the group `key` unless it exists (an existing group keeps its place and settings); joining
    /// one with other settings throws ``EventsError/Code/conflict``.
    mutating func join(_ key: GroupKey, options: ConsumeOptions, ephemeral: Bool) throws {
        if let existing = groups[key] {
            let settings = options.groupSettings(topic: key.topic)
            let kept = ConsumeOptions(ackWait: existing.ackWait, maxDeliveries: existing.maxDeliveries,
                                      deadLetterTopic: existing.deadLetterTopic).groupSettings(topic: key.topic)
            guard settings == kept else {
                throw EventsError(.conflict, "group \(key.group) of \(key.topic) has \(kept); a member asked for \(settings)")
            }
            return
        }
        let topic = topics[key.topic] ?? Topic()
        let events = topic.events
        let next: Int
        switch options.start {
        case .beginning: next = topic.dropped
        case .new: next = topic.end
        case .time(let date): next = topic.dropped + (events.firstIndex { $0.storedAt >= date } ?? events.count)
        case .sequence(let first): next = topic.dropped + (events.firstIndex { $0.event.sequence >= first } ?? events.count)
        }
        groups[key] = Group(ackWait: options.ackWait, maxDeliveries: options.maxDeliveries,
                            deadLetterTopic: options.deadLetterTopic(for: key.topic), autoAck: options.autoAck,
                            ephemeral: ephemeral, next: next)
    }

    /// Forgets an ephemeral group.
    mutating func leave(_ key: GroupKey) {
        if groups[key]?.ephemeral == true { groups[key] = nil }
    }

    /// The next delivery for the group, if any is due: first deliveries whose ack wait passed or that
    /// were nacked (those past their last delivery go to the dead-letter topic), then new events.
    mutating func take(_ key: GroupKey, now: ContinuousClock.Instant, wall: Date) -> Delivery? {
        expire(key, now: now, wall: wall)
        guard var group = groups[key] else { return nil }
        let topic = topics[key.topic] ?? Topic()
        var sequenceToSend: UInt64?
        while !group.again.isEmpty {
            let candidate = group.again.removeFirst()
            if topic.index[candidate] != nil { sequenceToSend = candidate; break }
        }
        if sequenceToSend == nil, group.next < topic.end {
            group.next = max(group.next, topic.dropped)
            sequenceToSend = topic.event(at: group.next)?.sequence
            group.next += 1
        }
        guard let chosen = sequenceToSend, let position = topic.index[chosen], let stored = topic.event(at: position) else {
            groups[key] = group
            return nil
        }
        attempts += 1
        let count = (group.deliveries[chosen] ?? 0) + 1
        var event = stored
        event.deliveries = count
        if group.autoAck {
            group.deliveries[chosen] = nil
        } else {
            group.deliveries[chosen] = count
            group.inFlight[chosen] = InFlight(attempt: attempts, deadline: now + group.ackWait)
        }
        groups[key] = group
        return Delivery(event: event, attempt: attempts)
    }

    /// When the group's earliest delivery in flight times out (nil: none in flight).
    func nextDeadline(_ key: GroupKey) -> ContinuousClock.Instant? {
        groups[key]?.inFlight.values.map(\.deadline).min()
    }

    /// Whether the group has something to deliver now (without changing anything).
    func hasWork(_ key: GroupKey, now: ContinuousClock.Instant) -> Bool {
        guard let group = groups[key] else { return true }  // gone: the waiter should look again and end
        if !group.again.isEmpty { return true }
        if group.next < (topics[key.topic]?.end ?? 0) { return true }
        return group.inFlight.values.contains { $0.deadline <= now }
    }

    /// The delivery `sequence` is done (whichever attempt acknowledges it).
    mutating func ack(_ key: GroupKey, sequence: UInt64) {
        guard var group = groups[key] else { return }
        group.inFlight[sequence] = nil
        group.again.removeAll { $0 == sequence }
        group.deliveries[sequence] = nil
        groups[key] = group
    }

    /// The delivery `attempt` of `sequence` failed: deliver again, or dead-letter it after the last
    /// allowed delivery. A stale attempt (timed out and delivered again meanwhile) changes nothing.
    mutating func nack(_ key: GroupKey, sequence: UInt64, attempt: UInt64, now: ContinuousClock.Instant, wall: Date) {
        guard var group = groups[key], group.inFlight[sequence]?.attempt == attempt else { return }
        group.inFlight[sequence] = nil
        groups[key] = group
        giveBack(key, sequence: sequence, now: now, wall: wall)
    }

    /// Moves the group's timed-out deliveries back to be delivered again (or dead-lettered).
    private mutating func expire(_ key: GroupKey, now: ContinuousClock.Instant, wall: Date) {
        guard var group = groups[key] else { return }
        let expired = group.inFlight.filter { $0.value.deadline <= now }.keys.sorted()
        guard !expired.isEmpty else { return }
        for sequence in expired { group.inFlight[sequence] = nil }
        groups[key] = group
        for sequence in expired { giveBack(key, sequence: sequence, now: now, wall: wall) }
    }

    private mutating func giveBack(_ key: GroupKey, sequence: UInt64, now: ContinuousClock.Instant, wall: Date) {
        guard var group = groups[key] else { return }
        let count = group.deliveries[sequence] ?? 0
        if let max = group.maxDeliveries, count >= max {
            group.deliveries[sequence] = nil
            groups[key] = group
            if let topic = topics[key.topic], let position = topic.index[sequence], let event = topic.event(at: position) {
                let letter = event.deadLetter(to: group.deadLetterTopic, group: key.group, deliveries: count)
                _ = append(letter, now: now, wall: wall)
            }
        } else {
            group.again.append(sequence)
            groups[key] = group
        }
    }
}
