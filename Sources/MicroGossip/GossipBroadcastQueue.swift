/// Messages waiting to be piggybacked on gossip, each sent a limited number of times
/// (`retransmitMult * ceil(log10(n + 1))`, as memberlist's TransmitLimitedQueue); a newer message
/// with the same key replaces an older one.
struct GossipBroadcastQueue: Sendable {
    private struct Item: Sendable {
        var key: String
        var message: [UInt8]
        var transmits: Int
        var id: Int
    }

    private var items: [Item] = []
    private var nextID = 0
    /// The most messages kept; the most transmitted are dropped first beyond it.
    var capacity = 4096

    /// How many messages wait.
    var count: Int { items.count }

    /// Adds `message`, replacing any waiting message with the same key.
    mutating func enqueue(key: String, message: [UInt8]) {
        items.removeAll { $0.key == key }
        nextID += 1
        items.append(Item(key: key, message: message, transmits: 0, id: nextID))
        if items.count > capacity {
            items.sort { ($0.transmits, -$0.id) < ($1.transmits, -$1.id) }
            items.removeLast(items.count - capacity)
        }
    }

    /// Messages fitting in `budget` bytes (each also costing `overhead`), least transmitted and newest
    /// first; each counts one transmission and is dropped once it reached `limit`.
    mutating func take(budget: Int, overhead: Int, limit: Int) -> [[UInt8]] {
        guard !items.isEmpty, budget > 0 else { return [] }
        var order = Array(items.indices)
        order.sort { (items[$0].transmits, -items[$0].id) < (items[$1].transmits, -items[$1].id) }
        var used = 0
        var out: [[UInt8]] = []
        var drop = Set<Int>()
        for i in order {
            let cost = items[i].message.count + overhead
            guard used + cost <= budget else { continue }
            used += cost
            out.append(items[i].message)
            items[i].transmits += 1
            if items[i].transmits >= limit { drop.insert(items[i].id) }
            if out.count >= 250 { break }
        }
        if !drop.isEmpty { items.removeAll { drop.contains($0.id) } }
        return out
    }

    /// memberlist's retransmit limit for a cluster of `members`.
    static func limit(mult: Int, members: Int) -> Int {
        let scale = Int((log10(Double(members + 1))).rounded(.up))
        return max(1, mult * max(1, scale))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
