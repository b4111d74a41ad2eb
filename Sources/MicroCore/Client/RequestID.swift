import Foundation
import Synchronization

/// Request ids (`Micro-Id`): a random per-process prefix and a counter — unique without asking the
/// kernel for randomness on every call, as `UUID()` does.
enum RequestID {
    private static let prefix = Array(UUID().uuidString.lowercased().utf8.prefix(18))
    private static let counter = Atomic<UInt64>(0)

    /// The next id, e.g. `3f2a9c1e-8b7d-4e6f-000000000000002a`: written in place, one allocation.
    static func next() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 34) { out in
            for (i, b) in prefix.enumerated() { out[i] = b }
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<16 { out[33 - i] = digits.utf8Start[Int((n >> (4 * UInt64(i))) & 0xF)] }
            return 34
        }
    }
}
