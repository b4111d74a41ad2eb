import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MicroCore
import NIOCore
import NIOFoundationCompat

/// Calls a service for an HTTP request: reads the body (bounded, in time too), checks it is JSON, passes
/// the caller's `Authorization` on as metadata, and answers with the reply, go-micro's error JSON, or
/// Server-Sent Events for a caller that accepts `text/event-stream`.
struct GatewayCaller: Sendable {
    let client: Client
    let configuration: GatewayConfiguration
    /// Who the gateway's own errors come from, as go-micro names its API.
    static let errorID = "go.micro.api"

    /// Reads the whole body, up to ``GatewayConfiguration/maxBodySize``; a larger body is a 413. A body
    /// that does not arrive within ``GatewayConfiguration/requestReadTimeout`` never gets here: the
    /// connection's ``RequestReadTimeoutHandler`` closes it.
    func readBody(_ request: Request) async throws -> ByteBuffer {
        let limit = configuration.maxBodySize
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw MicroError.tooLarge(Self.errorID, "request body of \(length) bytes is over the limit of \(limit)")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw MicroError.tooLarge(Self.errorID, "request body is over the limit of \(limit) bytes")
        } catch is NIOTooManyBytesError {
            throw MicroError.tooLarge(Self.errorID, "request body is over the limit of \(limit) bytes")
        }
    }

    /// The body as a JSON message, passed on as it came: empty is `{}`; anything that is not one JSON
    /// value (nested at most ``JSONTape/maxDepth`` deep) is a 400.
    static func jsonMessage(_ body: ByteBuffer) throws -> ByteBuffer {
        guard body.readableBytesView.contains(where: { !Self.isSpace($0) }) else { return ByteBuffer(string: "{}") }
        do {
            _ = try JSONTape(Array(body.readableBytesView))
        } catch {
            throw MicroError.badRequest(errorID, "request body is not valid JSON: \(error)")
        }
        return body
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// The call options for a request: the timeout, and the caller's `Authorization` as metadata.
    func options(for request: Request, stream: Bool) -> CallOptions {
        options(authorization: request.headers[.authorization], stream: stream)
    }

    /// The call options for a caller who sent `authorization`.
    func options(authorization: String?, stream: Bool) -> CallOptions {
        var options = client.defaults
        options.timeout = configuration.callTimeout
        if stream { options.streamTimeout = configuration.callTimeout }
        options.contentType = "application/json"
        if let authorization { options.metadata["Authorization"] = authorization }
        return options
    }

    /// Whether the caller asked for a stream of events.
    static func wantsEvents(_ request: Request) -> Bool {
        request.headers[values: .accept].contains { $0.contains("text/event-stream") }
    }

    /// Calls `route` with `body` (JSON) and answers: the reply, or events for a caller that wants a stream.
    func call(_ route: APIRoute, body: ByteBuffer, request: Request) async -> Response {
        do {
            let message = try Self.jsonMessage(body)
            if Self.wantsEvents(request) { return try await events(route, message: message, request: request) }
            let reply = try await client.callRaw(route.service, route.endpoint, body: message, options: options(for: request, stream: false))
            return HTTPAnswer.json(reply.body)
        } catch {
            return HTTPAnswer.error(Self.microError(error))
        }
    }

    /// Any failure as go-micro's error JSON.
    static func microError(_ error: any Error) -> MicroError {
        if error is CancellationError { return .timeout(errorID, "call cancelled") }
        return MicroError.from(error, id: errorID)
    }

    /// A server stream as Server-Sent Events: each message one `data:` event; a failure after the
    /// first message one `event: error` with go-micro's error JSON. A failure before it is a plain error answer.
    func events(_ route: APIRoute, message: ByteBuffer, request: Request) async throws -> Response {
        let stream = try await client.openStream(route.service, route.endpoint, sending: ByteBuffer.self, receiving: ByteBuffer.self,
                                                 options: options(for: request, stream: true))
        let first: ByteBuffer?
        do {
            try await stream.send(message)
            try await stream.finishSending()
            first = try await stream.receive()
        } catch {
            stream.cancel()
            throw error
        }
        let body = ResponseBody { writer in
            defer { stream.cancel() }
            var next = first
            do {
                while let message = next {
                    try await writer.write(ByteBuffer(string: ServerSentEvent.format(data: String(buffer: message))))
                    next = try await stream.receive()
                }
                try await writer.write(ByteBuffer(string: ServerSentEvent.format(event: "end", data: "{}")))
            } catch let e where !(e is CancellationError) && !ServerSentEvent.isWriteFailure(e) {
                try await writer.write(ByteBuffer(string: ServerSentEvent.format(event: "error", data: Self.microError(e).json)))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvent.headers, body: body)
    }
}
