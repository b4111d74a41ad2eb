import Foundation
import NIOCore

/// The JetStream API over a ``NATSConnection``: streams, messages, consumers and key-value buckets.
///
/// A context is a small value holding the connection and ``JetStreamOptions``; make as many as you
/// like. Every API call is a request on `<apiPrefix>.<operation>` with a JSON body, answered with JSON
/// that is checked like any untrusted input: bounded in size (``JetStreamOptions/maxResponseBytes``),
/// decoded into typed values, and an `{"error": {...}}` answer thrown as a ``JetStreamError`` carrying
/// the server's ``JetStreamAPIError``. Calls wait at most ``JetStreamOptions/timeout``.
public struct JetStream: Sendable {
    /// The connection the requests travel on.
    public let connection: NATSConnection
    /// Where requests go and how long they wait.
    public let options: JetStreamOptions

    /// A context on `connection`.
    public init(connection: NATSConnection, options: JetStreamOptions = JetStreamOptions()) {
        self.connection = connection
        self.options = options
    }

    /// A context on `connection` for the JetStream of `domain`.
    public init(connection: NATSConnection, domain: String) {
        self.init(connection: connection, options: .domain(domain))
    }

    // MARK: Requests

    /// The full subject of API operation `operation` (`STREAM.INFO.orders`).
    func apiSubject(_ operation: String) -> String { "\(options.apiPrefix).\(operation)" }

    /// Sends `body` as JSON to API operation `operation` and decodes the answer as `Response`.
    func call<Response: Decodable>(_ operation: String, _ body: (some Encodable)?, as: Response.Type) async throws -> Response {
        let payload = try body.map { try JetStreamJSON.payload($0) } ?? ByteBuffer()
        let reply = try await request(apiSubject(operation), payload: payload, headers: nil, context: operation)
        return try decode(Response.self, from: reply, context: operation)
    }

    /// Sends an API request without a body.
    func call<Response: Decodable>(_ operation: String, as type: Response.Type) async throws -> Response {
        try await call(operation, Optional<JetStreamEmpty>.none, as: type)
    }

    /// A request on `subject` with the context's timeout, its failures as ``JetStreamError``s.
    func request(_ subject: String, payload: ByteBuffer, headers: NATSHeaders?, context: String) async throws -> NATSMessage {
        let reply: NATSMessage
        do {
            reply = try await connection.request(subject, payload: payload, headers: headers, timeout: options.timeout)
        } catch {
            throw JetStreamError.wrapping(error, context)
        }
        guard reply.payload.readableBytes <= options.maxResponseBytes else {
            throw JetStreamError(.invalidResponse, "\(context): an answer of \(reply.payload.readableBytes) bytes, the limit is \(options.maxResponseBytes)")
        }
        return reply
    }

    /// The answer `reply` decoded as `Response`, or the API error it holds thrown.
    func decode<Response: Decodable>(_ type: Response.Type, from reply: NATSMessage, context: String) throws -> Response {
        if let status = reply.status, status == 503 {
            throw JetStreamError(.noResponders, "\(context): no responders (JetStream not enabled, or no stream for the subject)")
        }
        let data = Data(reply.payload.readableBytesView)
        let probe: JetStreamErrorProbe
        do {
            probe = try JetStreamJSON.decoder.decode(JetStreamErrorProbe.self, from: data)
        } catch {
            throw JetStreamError(.invalidResponse, "\(context): the answer is not a JSON object (\(reply.payload.readableBytes) bytes)")
        }
        if let api = probe.error { throw JetStreamError(api: api, context) }
        do {
            return try JetStreamJSON.decoder.decode(Response.self, from: data)
        } catch {
            throw JetStreamError(.invalidResponse, "\(context): the answer is not a \(Response.self): \(error)")
        }
    }

    // MARK: Names

    /// Throws ``JetStreamError/Code/invalidArgument`` unless `name` can name a stream or consumer:
    /// not empty, at most 255 bytes, no whitespace, control characters, `.`, `*`, `>`, `/` or `\`.
    static func validateName(_ name: String, _ role: String) throws {
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw JetStreamError(.invalidArgument, "a \(role) name is 1 to 255 bytes, got \(name.utf8.count)")
        }
        for byte in name.utf8 {
            switch byte {
            case 0...0x20, 0x7F, UInt8(ascii: "."), UInt8(ascii: "*"), UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "\\"):
                throw JetStreamError(.invalidArgument, "invalid \(role) name \(name.debugDescription)")
            default: continue
            }
        }
    }

    /// Throws ``JetStreamError/Code/invalidArgument`` unless `subject` is a valid subject (wildcards
    /// only when `wildcards`).
    static func validateSubject(_ subject: String, wildcards: Bool) throws {
        do {
            try NATSSubject.validateSubscribe(subject)
        } catch {
            throw JetStreamError(.invalidArgument, "invalid subject \(subject.debugDescription)")
        }
        if !wildcards {
            for token in subject.utf8.split(separator: UInt8(ascii: ".")) where token.count == 1 && (token[token.startIndex] == UInt8(ascii: "*") || token[token.startIndex] == UInt8(ascii: ">")) {
                throw JetStreamError(.invalidArgument, "subject \(subject.debugDescription) has a wildcard")
            }
        }
    }
}

/// The error member of any API answer.
struct JetStreamErrorProbe: Decodable {
    var error: JetStreamAPIError?
}

/// An empty JSON object.
struct JetStreamEmpty: Codable {}

/// `{"success": true}`, the answer to deletes.
struct JetStreamSuccess: Decodable {
    var success: Bool?
}
