import NIOConcurrencyHelpers

/// A listener's open streams' gates, so the dispatcher finds a call's ``GRPCStreamGate``: the request
/// checker names the gate in a private request header (removed from what the caller sent, and
/// never shown to handlers).
final class GRPCStreamGates: Sendable {
    /// The private request header naming a stream's gate.
    static let header = "micro-grpc-stream-gate"

    private let state = NIOLockedValueBox<(next: UInt64, gates: [UInt64: GRPCStreamGate])>((0, [:]))

    /// Registers a stream's gate (until ``remove(_:)``, when the stream closes); returns its id.
    func add(_ gate: GRPCStreamGate) -> UInt64 {
        state.withLockedValue { s in
            s.next += 1
            s.gates[s.next] = gate
            return s.next
        }
    }

    func remove(_ id: UInt64) {
        _ = state.withLockedValue { $0.gates.removeValue(forKey: id) }
    }

    /// The gate a request header's value names.
    func gate(named value: String) -> GRPCStreamGate? {
        guard let id = UInt64(value) else { return nil }
        return state.withLockedValue { $0.gates[id] }
    }
}
