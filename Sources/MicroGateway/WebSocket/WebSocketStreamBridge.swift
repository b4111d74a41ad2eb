import HTTPTypes
import HummingbirdWebSocket
import MicroCore
import NIOCore
import NIOWebSocket

/// A stream through the gateway over WebSocket, as go-micro's API serves streams: `GET /<service>/<method>`
/// with `Upgrade: websocket` opens a stream to that endpoint (server, client or bidirectional).
///
/// Each text (or binary) message from the caller is one JSON request message; an empty message says the
/// caller will send no more. Each message of the service is one text frame of JSON. When the service ends
/// the stream the socket closes with 1000; a service error closes it with 4000 + the error's HTTP status
/// (4404, 4408, 4500, ...) and the error's detail as the reason; a message that is not JSON with 1007, a
/// message after the end or over ``GatewayConfiguration/maxStreamMessages`` with 1008, one over
/// ``GatewayConfiguration/maxStreamMessageSize`` with 1009. Closing the socket abandons the stream.
struct WebSocketStreamBridge: Sendable {
    let caller: GatewayCaller

    /// The endpoint an upgrade request opens, or nil to refuse it: a GET whose path names an endpoint,
    /// from an origin the CORS policy allows (or none, or the gateway's own).
    func route(for head: HTTPRequest) -> APIRoute? {
        guard head.method == .get, let target = head.path else { return nil }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        guard caller.configuration.cors.allowsWebSocket(origin: head.headerFields[.origin], host: head.authority) else { return nil }
        return APIRoute.resolve(path: path, namespace: caller.configuration.namespace)
    }

    /// Why a WebSocket stream ended.
    enum Outcome: Sendable {
        /// The service ended the stream.
        case finished
        /// The caller closed the socket (or it broke): nothing more to say.
        case callerLeft
        /// The service (or the call) failed.
        case failed(MicroError)
        /// The caller broke the protocol or a limit.
        case refused(WebSocketErrorCode, String)
    }

    /// Serves one upgraded socket: opens the stream and relays both ways until either side ends.
    func serve(_ route: APIRoute, authorization: String?, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let stream: ClientStream<ByteBuffer, ByteBuffer>
        do {
            stream = try await caller.client.openStream(route.service, route.endpoint, sending: ByteBuffer.self, receiving: ByteBuffer.self,
                                                        options: caller.options(authorization: authorization, stream: true))
        } catch {
            try await Self.close(outbound, .failed(GatewayCaller.microError(error)))
            return
        }
        defer { stream.cancel() }
        let configuration = caller.configuration
        let outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask { try await Self.forward(inbound, to: stream, configuration: configuration) }
            group.addTask { await Self.relay(stream, to: outbound) }
            defer { group.cancelAll() }
            return try await group.next() ?? .callerLeft
        }
        try await Self.close(outbound, outcome)
    }

    /// The caller's messages to the service, checked; ends when the caller closes. Errors of the
    /// WebSocket library itself (a message too large) are rethrown, so it closes with their code.
    static func forward(_ inbound: WebSocketInboundStream, to stream: ClientStream<ByteBuffer, ByteBuffer>,
                        configuration: GatewayConfiguration) async throws -> Outcome {
        var messages = inbound.messages(maxSize: configuration.maxStreamMessageSize).makeAsyncIterator()
        var count = 0
        var ended = false
        do {
            while let message = try await messages.next() {
                let body: ByteBuffer = switch message {
                case .text(let text): ByteBuffer(string: text)
                case .binary(let bytes): bytes
                }
                guard !ended else { return .refused(.policyViolation, "message after the end of the caller's messages") }
                if body.readableBytes == 0 {
                    ended = true
                    try await stream.finishSending()
                    continue
                }
                count += 1
                guard count <= configuration.maxStreamMessages else {
                    return .refused(.policyViolation, "more than \(configuration.maxStreamMessages) messages")
                }
                guard (try? JSONTape(Array(body.readableBytesView))) != nil else {
                    return .refused(.dataInconsistentWithMessage, "message \(count) is not JSON")
                }
                try await stream.send(body)
            }
            return .callerLeft
        } catch let error as MicroError {
            return .failed(error)
        } catch let error as TransportError {
            return .failed(GatewayCaller.microError(error))
        }
    }

    /// The service's messages to the caller, one text frame each, until the service ends the stream.
    static func relay(_ stream: ClientStream<ByteBuffer, ByteBuffer>, to outbound: WebSocketOutboundWriter) async -> Outcome {
        do {
            while let message = try await stream.receive() {
                do {
                    try await outbound.writeTextMessage(String(buffer: message))
                } catch {
                    return .callerLeft
                }
            }
            return .finished
        } catch is CancellationError {
            return .callerLeft
        } catch {
            return .failed(GatewayCaller.microError(error))
        }
    }

    /// Closes the socket as `outcome` says (the library closes with 1000 after a caller left).
    static func close(_ outbound: WebSocketOutboundWriter, _ outcome: Outcome) async throws {
        switch outcome {
        case .finished, .callerLeft:
            return
        case .failed(let error):
            let status = (100...599).contains(Int(error.code)) ? Int(error.code) : 500
            try await outbound.close(.unknown(UInt16(4000 + status)), reason: reason(error.detail))
        case .refused(let code, let why):
            try await outbound.close(code, reason: reason(why))
        }
    }

    /// A close reason: at most 123 bytes of UTF-8 (what a close frame holds), cut at a character.
    static func reason(_ text: String) -> String {
        var out = ""
        var size = 0
        for character in text {
            size += character.utf8.count
            guard size <= 123 else { break }
            out.append(character)
        }
        return out
    }
}
