import Logging
import MicroCore
import NATSClient
import NIOCore

/// The serving side of one stream: subscribes a fresh inbox for the client's frames, accepts the
/// stream (telling the client that inbox and its window), runs the handler with a backpressured
/// reader and writer, and ends the stream with `end` or `error`. The handler is cancelled when the
/// client cancels, goes away, breaks the protocol, or the call's deadline passes (then nothing is sent:
/// the client's own timer reports the timeout).
enum NATSServerStream {
    static func serve(_ request: RPCRequest, clientInbox: String, clientWindow: Int, connection: NATSConnection,
                      handler: any RPCHandler, configuration: NATSTransportConfiguration, logger: Logger) async {
        let serverInbox = connection.newInbox()
        let subscription: NATSSubscription
        do { subscription = try connection.subscribe(serverInbox) } catch {
            await sendError(.unavailable("go.micro.server", "cannot open the stream: \(error)"), sent: 0, to: clientInbox, on: connection)
            return
        }
        defer { try? subscription.unsubscribe() }
        let flow = NATSStreamFlow(window: configuration.streamWindow, peerWindow: clientWindow, peerInbox: clientInbox, address: clientInbox)
        do {
            try await connection.publish(clientInbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.accept, number: flow.window), replyTo: serverInbox)
        } catch {
            logger.debug("accepting a stream failed", metadata: ["error": "\(error)"])
            return
        }

        let reader = MessageReader {
            let message = try await flow.next()
            if message != nil, let count = flow.acknowledgementDue() {
                try? await connection.publish(clientInbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.ack, number: count))
            }
            return message
        }
        let maxSize = configuration.maxMessageSize
        let writer = MessageWriter { message in
            if let maxSize, message.readableBytes > maxSize {
                throw MicroError.tooLarge("go.micro.server", "stream message of \(message.readableBytes) bytes exceeds the limit of \(maxSize) bytes")
            }
            guard let seq = try await flow.reserveSend() else { return }
            do {
                try await connection.publish(clientInbox, payload: message, headers: NATSStreamFrame.headers(.data, number: seq))
            } catch {
                throw NATSTransportErrors.map(error, address: clientInbox)
            }
        }

        enum Outcome: Sendable {
            case handler(MicroError?)
            case peer(NATSStreamDispatcher.Outcome)
            case deadline
        }
        let keepalive = configuration.keepaliveInterval
        let outcome: Outcome = await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { .handler(await handler.handleStream(request, inbound: reader, outbound: writer)) }
            group.addTask {
                let end = await NATSStreamDispatcher.run(subscription, flow: flow, connection: connection, role: .server)
                return Task.isCancelled ? nil : .peer(end)
            }
            group.addTask { await NATSStreamDispatcher.keepAlive(flow: flow, connection: connection, interval: keepalive).map { .peer($0) } }
            if let deadline = request.deadline {
                group.addTask {
                    let left = deadline - .now()
                    if left > .zero {
                        do { try await Task.sleep(nanoseconds: UInt64(left.nanoseconds)) } catch { return nil }
                    }
                    return .deadline
                }
            }
            var first: Outcome?
            while first == nil, let next = await group.next() { first = next }
            let outcome = first ?? .peer(.subscriptionEnded)
            switch outcome {
            case .handler: break
            case .deadline: flow.abort(TransportError(.timeout, address: clientInbox, detail: "stream deadline exceeded"))
            case .peer(.failed(let e)): flow.abort(e)
            case .peer: flow.abort(CancellationError())
            }
            group.cancelAll()
            return outcome
        }

        switch outcome {
        case .handler(nil):
            if let count = flow.closeSend() {
                try? await connection.publish(clientInbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.end, number: count))
            }
        case .handler(let error?):
            await sendError(error, sent: flow.closeSend() ?? -1, to: clientInbox, on: connection)
        case .deadline:
            break   // the client's own timer ran out at the same time: it reports the timeout
        case .peer(.failed(let e)):
            // Tell a client that is still there why (a broken protocol); a vanished one hears nothing.
            await sendError(MicroError.from(e, id: "go.micro.server"), sent: flow.closeSend() ?? -1, to: clientInbox, on: connection)
        case .peer:
            break   // the client cancelled: it listens no more
        }
    }

    static func sendError(_ error: MicroError, sent: Int, to inbox: String, on connection: NATSConnection) async {
        try? await connection.publish(inbox, payload: ByteBuffer(string: error.json), headers: NATSStreamFrame.errorHeaders(error, sent: sent))
    }
}
