import MicroCore
import NATSClient

extension StoreError {
    /// `error`, thrown by the NATS client during a store operation, as the store's error: a
    /// `StoreError` or cancellation stays as it is; a failed expected-sequence check is
    /// ``StoreError/Code/conflict``; a message over a limit is ``StoreError/Code/tooLarge``; an answer
    /// that is not what JetStream promises is ``StoreError/Code/malformed``; anything else (no server,
    /// no JetStream, a timeout, a closed connection) is ``StoreError/Code/unavailable``.
    static func nats(_ error: any Error, _ operation: String) -> any Error {
        if error is StoreError || error is CancellationError { return error }
        if let nats = error as? NATSError {
            return nats.code == .maxPayloadExceeded ? StoreError(.tooLarge, "nats \(operation): \(nats)") : StoreError(.unavailable, "nats \(operation): \(nats)")
        }
        guard let js = error as? JetStreamError else { return StoreError(.unavailable, "nats \(operation): \(error)") }
        switch js.code {
        case .api where js.isWrongLastSequence: return StoreError(.conflict, "nats \(operation): written by someone else meanwhile")
        case .api where js.errorCode == .messageExceedsMaximum || js.errorCode == .headerExceedsMaximum: return StoreError(.tooLarge, "nats \(operation): \(js)")
        case .tooLarge: return StoreError(.tooLarge, "nats \(operation): \(js)")
        case .invalidResponse: return StoreError(.malformed, "nats \(operation): \(js)")
        default: return StoreError(.unavailable, "nats \(operation): \(js)")
        }
    }
}
