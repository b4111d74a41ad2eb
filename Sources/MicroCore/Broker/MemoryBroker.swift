import NIOConcurrencyHelpers

/// A broker inside one process: each message goes to every broadcast subscriber and to one member
/// of each queue group (round robin). Delivery waits for the handlers, so a publish returns after them.
public final class MemoryBroker: Broker {
    public let name = "memory"

    private struct Sub: Sendable {
        let id: Int
        let queue: String?
        let handler: @Sendable (BrokerEvent) async throws -> Void
    }

    private struct State {
        var next = 0
        var topics: [String: [Sub]] = [:]
        var cursor: [String: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// An empty broker.
    public init() {}

    public func publish(_ topic: String, _ message: BrokerMessage) async throws {
        let targets: [Sub] = state.withLockedValue { s in
            let subs = s.topics[topic] ?? []
            var out = subs.filter { $0.queue == nil }
            var groups: [String: [Sub]] = [:]
            for sub in subs { if let q = sub.queue { groups[q, default: []].append(sub) } }
            for (q, members) in groups.sorted(by: { $0.key < $1.key }) {
                let key = topic + "\u{0}" + q
                let i = s.cursor[key, default: 0]
                s.cursor[key] = i &+ 1
                out.append(members[i % members.count])
            }
            return out
        }
        let event = BrokerEvent(topic: topic, message: message)
        var firstError: (any Error)?
        for t in targets {
            do { try await t.handler(event) } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw firstError }
    }

    public func subscribe(_ topic: String, queue: String?, handler: @escaping @Sendable (BrokerEvent) async throws -> Void) async throws -> any BrokerSubscription {
        let id = state.withLockedValue { s -> Int in
            s.next += 1
            s.topics[topic, default: []].append(Sub(id: s.next, queue: queue, handler: handler))
            return s.next
        }
        return MemorySubscription(topic: topic, queue: queue) { [weak self] in
            self?.state.withLockedValue { s in s.topics[topic]?.removeAll { $0.id == id } }
        }
    }

    /// Nothing to release: subscriptions end with their own `unsubscribe`, and other users of a shared broker keep theirs.
    public func shutdown() async {}
}

struct MemorySubscription: BrokerSubscription {
    let topic: String
    let queue: String?
    let remove: @Sendable () -> Void
    func unsubscribe() async throws { remove() }
}
