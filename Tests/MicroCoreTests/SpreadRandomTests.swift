@testable import MicroCore
import Testing

@Suite struct SpreadRandomTests {
    @Test func spreadsEvenlyWithinBounds() {
        var counts = [0, 0, 0]
        for _ in 0..<30_000 {
            let i = SpreadRandom.next(below: 3)
            #expect((0..<3).contains(i))
            counts[i] += 1
        }
        for c in counts { #expect((9_000...11_000).contains(c), "\(counts)") }
        #expect(SpreadRandom.next(below: 1) == 0)
    }

    @Test func randomStrategyReachesEveryNode() {
        let nodes = (0..<4).map { Node(id: "n\($0)", address: "127.0.0.1:\(9000 + $0)") }
        let seen = Set((0..<400).map { _ in SelectionStrategy.random.pick("svc", nodes).id })
        #expect(seen == ["n0", "n1", "n2", "n3"])
        #expect(SelectionStrategy.random.pick("svc", [nodes[2]]).id == "n2")
    }

    @Test func requestIDsAreUniqueAndShaped() {
        let a = RequestID.next(), b = RequestID.next()
        #expect(a != b)
        #expect(a.utf8.count == 34 && b.utf8.count == 34)
        #expect(a.prefix(18) == b.prefix(18))
        let na = UInt64(a.suffix(16), radix: 16), nb = UInt64(b.suffix(16), radix: 16)
        #expect(na != nil && nb == na.map { $0 + 1 })
    }
}
