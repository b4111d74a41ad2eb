import Logging
import MicroAddress
import MicroCore
import NIOCore
import NIOPosix

/// The serving side of the HTTP transport: go-micro's mucp RPC over HTTP/1.1 keep-alive, with streams
/// as framed chunked bodies and health probes on the same port.
public struct HTTPServerTransport: ServerTransport {
    public let protocolName = "mucp"
    /// Limits and timeouts.
    public var configuration: HTTPTransportConfiguration
    let logger: Logger
    let group: any EventLoopGroup

    /// A server transport with the given limits, serving on `group` (NIO's shared one, a thread per core, by default).
    public init(configuration: HTTPTransportConfiguration = HTTPTransportConfiguration(), logger: Logger = Logger(label: "micro.http.server"),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
    }

    public func listen(on address: String, handler: any RPCHandler) async throws -> any TransportListener {
        let bind = try HostPort.transportAddress(address.isEmpty ? "127.0.0.1:0" : address)
        let server = try await HTTPServer.bind(host: bind.host, port: bind.port, configuration: configuration,
                                               responder: MucpResponder(handler: handler), logger: logger, group: group)
        return HTTPListener(server: server)
    }
}

struct HTTPListener: TransportListener {
    let server: HTTPServer
    var address: String { server.address }
    func run() async throws { await server.run() }
    func shutdown(gracePeriod: Duration) async { await server.shutdown(gracePeriod: gracePeriod) }
    var openConnections: Int? { server.openConnections }
}
