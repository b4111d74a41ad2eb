import Logging
import MicroCore
import NATSClient
import NIOConcurrencyHelpers
import NIOCore

/// The caller's side of a stream over NATS: its own inbox (where the server's frames arrive), the
/// server's stream inbox (where data, `end`, acknowledgements and `cancel` go), and a task that
/// dispatches the inbox's frames, probes a silent server and enforces the deadline. The task ends
/// with the stream: when the server finishes, on ``cancel()``, at the deadline, or if the server goes away.
final class NATSClientStream: ClientStreamChannel {
    let flow: NATSStreamFlow
    private let connection: NATSConnection
    private let subscription: NATSSubscription
    private let address: String
    private let maxMessageSize: Int?
    private let task: Task<Void, Never>
    private let cancelled = NIOLockedValueBox(false)

    init(connection: NATSConnection, subscription: NATSSubscription, flow: NATSStreamFlow, address: String,
         deadline: NIODeadline?, configuration: NATSTransportConfiguration) {
        self.connection = connection
        self.subscription = subscription
        self.flow = flow
        self.address = address
        self.maxMessageSize = configuration.maxMessageSize
        let keepalive = configuration.keepaliveInterval
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = await NATSStreamDispatcher.run(subscription, flow: flow, connection: connection, role: .client) }
                group.addTask { _ = await NATSStreamDispatcher.keepAlive(flow: flow, connection: connection, interval: keepalive) }
                if let deadline {
                    group.addTask {
                        let left = deadline - .now()
                        if left > .zero {
                            do { try await Task.sleep(nanoseconds: UInt64(left.nanoseconds)) } catch { return }
                        }
                        flow.abort(TransportError(.timeout, address: address, detail: "stream deadline exceeded"))
                        // The server enforces the same deadline; telling it saves it the wait.
                        if let inbox = flow.peerInbox, !flow.isInboundEnded {
                            try? await connection.publish(inbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.cancel))
                        }
                    }
                }
                // The first to finish ends the others: the server finished, the stream broke, or the deadline passed.
                await group.next()
                group.cancelAll()
            }
            try? subscription.unsubscribe()
            // A stream that did not finish (its subscription ended with the connection) fails its waiters.
            flow.abort(TransportError(.connectionClosed, address: address, detail: "the stream's connection closed"))
        }
    }

    deinit {
        // A stream dropped without reading it to the end or cancelling it frees the server too.
        if !cancelled.withLockedValue({ $0 }) && !flow.isInboundEnded { cancel() }
    }

    func send(_ message: ByteBuffer) async throws {
        if let max = maxMessageSize, message.readableBytes > max {
            throw MicroError.tooLarge("go.micro.client", "stream message of \(message.readableBytes) bytes exceeds the limit of \(max) bytes")
        }
        let inbox = try await flow.waitAccepted()
        guard let seq = try await flow.reserveSend() else { return }   // the server already finished: dropped
        do {
            try await connection.publish(inbox, payload: message, headers: NATSStreamFrame.headers(.data, number: seq))
        } catch {
            throw NATSTransportErrors.map(error, address: address)
        }
    }

    func finishSending() async throws {
        // A stream that failed to open reports why from `receive`.
        guard let inbox = try? await flow.waitAccepted() else { return }
        guard let count = flow.closeSend() else { return }
        do {
            try await connection.publish(inbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.end, number: count))
        } catch {
            throw NATSTransportErrors.map(error, address: address)
        }
    }

    func receive() async throws -> ByteBuffer? {
        let message = try await withTaskCancellationHandler {
            try await flow.next()
        } onCancel: { [weak self] in
            self?.cancel()
        }
        if message != nil, let count = flow.acknowledgementDue(), let inbox = flow.peerInbox {
            try? await connection.publish(inbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.ack, number: count))
        }
        return message
    }

    func cancel() {
        let first = cancelled.withLockedValue { c -> Bool in defer { c = true }; return !c }
        guard first else { return }
        if !flow.isInboundEnded, let inbox = flow.peerInbox {
            // Synchronous (called from deinit and cancellation handlers): a small frame, never waiting for room.
            try? connection.publishNow(inbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.cancel))
        }
        flow.abort(CancellationError())
        try? subscription.unsubscribe()
        task.cancel()
    }

    /// Waits until the stream's task has ended (tests: nothing is left running).
    func waitUntilClosed() async { await task.value }
}
