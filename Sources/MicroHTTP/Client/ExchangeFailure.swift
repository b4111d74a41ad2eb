/// Why a unary exchange on a connection ended without a response; the transport turns each into
/// the caller's ``MicroCore/TransportError``.
enum ExchangeFailure: Error {
    /// The connection closed (or failed) before any of the response came: a pooled connection the
    /// server had already closed looks like this, and may be replaced once.
    case closedBeforeAnswer(any Error)
    /// The connection closed or failed once the response had started.
    case closed(any Error)
    /// The exchange's deadline passed first; the connection was closed.
    case timedOut
    /// The connection already had an exchange in flight (a pool bug, never a peer's doing).
    case busy
}
