import Synchronization

/// Cheap shared randomness for spreading load: SplitMix64 over an atomic counter, seeded from the
/// system generator once. Not for anything secret.
enum SpreadRandom {
    private static let state = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// A number in `0..<n` (n > 0).
    static func next(below n: Int) -> Int {
        var z = state.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z.multipliedFullWidth(by: UInt64(n)).high)
    }
}
