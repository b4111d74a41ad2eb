import GRPCCore
import MicroCore
import NIOConcurrencyHelpers

/// What a handler can see and set of the gRPC call it serves, beyond `HandlerContext`: the
/// method path, the peers, the raw request metadata (binary values included), response headers and
/// trailers. Set (as a task local) only while a handler runs under ``GRPCServerTransport``.
public final class GRPCCallContext: Sendable {
    /// The call the running task serves, nil outside a gRPC call.
    @TaskLocal public static var current: GRPCCallContext?

    /// The request path, e.g. `/helloworld.Greeter/SayHello`.
    public let path: String
    /// The client's address, e.g. `ipv4:127.0.0.1:51234`.
    public let remotePeer: String
    /// The server's address.
    public let localPeer: String
    /// The request's metadata as it arrived (reserved headers included).
    public let requestMetadata: GRPCCore.Metadata
    /// What the HTTP/2 transport knows of the connection (for TLS: the peer's certificate).
    public let transportSpecific: (any ServerContext.TransportSpecific)?

    private struct State {
        var headers: GRPCCore.Metadata = [:]
        var trailers: GRPCCore.Metadata = [:]
        var headersSent = false
        var status: RPCError?
    }
    private let state = NIOLockedValueBox(State())

    init(path: String, remotePeer: String, localPeer: String, requestMetadata: GRPCCore.Metadata,
         transportSpecific: (any ServerContext.TransportSpecific)?) {
        self.path = path
        self.remotePeer = remotePeer
        self.localPeer = localPeer
        self.requestMetadata = requestMetadata
        self.transportSpecific = transportSpecific
    }

    /// Adds a response header; false once headers were sent (with the first message).
    @discardableResult
    public func addHeader(_ value: String, forKey key: String) -> Bool {
        state.withLockedValue { s in
            guard !s.headersSent else { return false }
            s.headers.addString(value, forKey: key.lowercased())
            return true
        }
    }

    /// Adds a binary response header (`key` must end in `-bin`); false once headers were sent.
    @discardableResult
    public func addBinaryHeader(_ value: [UInt8], forKey key: String) -> Bool {
        state.withLockedValue { s in
            guard !s.headersSent else { return false }
            s.headers.addBinary(value, forKey: key.lowercased())
            return true
        }
    }

    /// Adds a trailer, sent with the call's status.
    public func addTrailer(_ value: String, forKey key: String) {
        state.withLockedValue { $0.trailers.addString(value, forKey: key.lowercased()) }
    }

    /// Adds a binary trailer (`key` must end in `-bin`).
    public func addBinaryTrailer(_ value: [UInt8], forKey key: String) {
        state.withLockedValue { $0.trailers.addBinary(value, forKey: key.lowercased()) }
    }

    /// Ends the call with exactly this status (code, message and metadata) instead of the one
    /// mapped from the MicroError the handler throws; the MicroError still travels as the detail.
    /// Protobuf-first handlers get this by throwing an `RPCError`.
    public func fail(with error: RPCError) {
        state.withLockedValue { $0.status = error }
    }

    /// The headers to send now (nil once sent).
    func takeHeaders() -> GRPCCore.Metadata? {
        state.withLockedValue { s in
            guard !s.headersSent else { return nil }
            s.headersSent = true
            return s.headers
        }
    }

    var headersPending: Bool { state.withLockedValue { !$0.headersSent && !$0.headers.isEmpty } }
    var trailers: GRPCCore.Metadata { state.withLockedValue { $0.trailers } }
    var statusOverride: RPCError? { state.withLockedValue { $0.status } }
}
