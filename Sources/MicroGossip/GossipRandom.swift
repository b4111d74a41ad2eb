/// The random choices of the membership state machine (probe order, gossip and relay targets):
/// SplitMix64, seeded from the system generator by default, or with a fixed seed in tests.
struct GossipRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed` (tests).
    init(seed: UInt64) { state = seed }

    /// A generator seeded from the system's.
    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
