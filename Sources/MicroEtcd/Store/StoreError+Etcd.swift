import EtcdClient
import MicroCore

extension StoreError {
    /// `error`, thrown by the etcd client during a store operation, as the store's error: a
    /// `StoreError` or cancellation stays as it is; etcd that cannot be reached, times out, has no
    /// leader or is out of space is ``StoreError/Code/unavailable``; an answer that is not what etcd's
    /// API promises is ``StoreError/Code/malformed``; a request etcd rejects as too large is
    /// ``StoreError/Code/tooLarge``.
    static func etcd(_ error: any Error, _ operation: String) -> any Error {
        if error is StoreError || error is CancellationError { return error }
        guard let etcd = error as? EtcdError else { return StoreError(.unavailable, "etcd \(operation): \(error)") }
        switch etcd.code {
        case .cancelled: return CancellationError()
        case .invalidResponse: return StoreError(.malformed, "etcd \(operation): \(etcd)")
        case .invalidArgument where etcd.message.contains("too large"):
            return StoreError(.tooLarge, "etcd \(operation): \(etcd)")
        case .invalidArgument: return StoreError(.invalidArgument, "etcd \(operation): \(etcd)")
        default: return StoreError(.unavailable, "etcd \(operation): \(etcd)")
        }
    }
}
