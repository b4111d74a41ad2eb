import NIOConcurrencyHelpers

/// How a selector picks among candidate nodes.
public struct SelectionStrategy: Sendable {
    let pick: @Sendable (_ service: String, _ nodes: [Node]) -> Node

    /// Any node, uniformly at random (a fast shared generator: load balancing needs no kernel randomness).
    public static let random = SelectionStrategy { _, nodes in
        nodes.count == 1 ? nodes[0] : nodes[SpreadRandom.next(below: nodes.count)]
    }

    /// Each node in turn, per service.
    public static var roundRobin: SelectionStrategy {
        let counters = NIOLockedValueBox([String: Int]())
        return SelectionStrategy { service, nodes in
            let i = counters.withLockedValue { c -> Int in
                let v = c[service, default: Int.random(in: 0..<1024)]
                c[service] = v &+ 1
                return v
            }
            return nodes[abs(i) % nodes.count]
        }
    }

    /// A strategy from a function; it is called with a non-empty node list.
    public init(_ pick: @escaping @Sendable (_ service: String, _ nodes: [Node]) -> Node) {
        self.pick = pick
    }
}
