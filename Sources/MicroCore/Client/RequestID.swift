import Foundation
import Synchronization

/// Request ids (`Micro-Id`): a random per-process prefix and a counter — unique without asking the
/// kernel for randomness on every call, as `UUID()` does.
enum RequestID {
    private static let prefix = UUID().uuidString.lowercased().prefix(18)
    private static let counter = Atomic<UInt64>(0)

    /// The next id, e.g. `3f2a9c1e-8b7d-4e6f-000000000000002a`.
    static func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        let hex = String(n, radix: 16)
        return prefix + String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }
}
