import MicroCore
import NIOCore
import NIOHTTP1

/// The connection (or HTTP/2 stream) a stream call has to itself, and its deadline: closed when the
/// deadline passes and when the stream ends; its failures told apart as a timeout or a closed connection.
struct StreamConnection: Sendable {
    let connection: HTTPConnection
    let deadline: NIODeadline?
    private let timer: Scheduled<Void>?

    init(_ connection: HTTPConnection, deadline: NIODeadline?) {
        self.connection = connection
        self.deadline = deadline
        self.timer = connection.closeAt(deadline)
    }

    var address: String { connection.address }

    /// The next response part; cancelling the waiting task closes the connection.
    func next() async throws -> HTTPClientResponsePart? {
        try await withTaskCancellationHandler { try await connection.next() } onCancel: { [connection] in connection.close() }
    }

    /// The error for a stream that broke: a timeout once the deadline passed, a peer's protocol
    /// error as it is, else a closed connection.
    func broken(_ error: any Error) -> TransportError {
        if let deadline, deadline <= .now() {
            return TransportError(.timeout, address: connection.address, detail: "stream deadline exceeded")
        }
        if let e = error as? TransportError, e.code == .protocolViolation || e.code == .messageTooLarge { return e }
        return TransportError(.connectionClosed, address: connection.address, detail: "stream closed: \(error)")
    }

    /// Lets the connection's event loop serve its other channels before the stream writes more
    /// (see ``WritePacer``): a timer on the loop fires only once its queued tasks are done.
    func yieldToLoop() async {
        try? await connection.channel.eventLoop.scheduleTask(in: WritePacer.pause) {}.futureResult.get()
    }

    /// Ends the stream: no deadline any more, the connection closed.
    func close() {
        timer?.cancel()
        connection.close()
    }
}
