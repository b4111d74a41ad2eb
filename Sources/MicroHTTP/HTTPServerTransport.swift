import Logging
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
        let (host, port) = try HostPort.parse(address.isEmpty ? "127.0.0.1:0" : address)
        let server = try await HTTPServer.bind(host: host, port: port, configuration: configuration,
                                               responder: MucpResponder(handler: handler), logger: logger, group: group)
        return HTTPListener(server: server)
    }
}

struct HTTPListener: TransportListener {
    let server: HTTPServer
    var address: String { server.address }
    func run() async throws { await server.run() }
    func shutdown(gracePeriod: Duration) async { await server.shutdown(gracePeriod: gracePeriod) }
}

/// `host:port` parsing (IPv6 in brackets).
public enum HostPort {
    /// Splits an address; throws a 400 for one that is not `host:port`.
    public static func parse(_ address: String) throws -> (host: String, port: Int) {
        var a = Substring(address)
        if let scheme = Self.schemeEnd(address) { a = a[scheme...] }
        if let slash = a.firstIndex(of: "/") { a = a[..<slash] }
        guard let colon = a.lastIndex(of: ":"), let port = Int(a[a.index(after: colon)...]), (0...65535).contains(port) else {
            throw MicroError.badRequest("go.micro.transport", "address \(address) is not host:port")
        }
        var host = String(a[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        return (host, port)
    }

    /// Where what follows `scheme://` starts (nil without a scheme), without Foundation's string search.
    private static func schemeEnd(_ address: String) -> String.Index? {
        let u = address.utf8
        var i = u.startIndex
        while i != u.endIndex {
            if u[i] == UInt8(ascii: ":") {
                let rest = u[u.index(after: i)...]
                guard rest.starts(with: "//".utf8) else { return nil }
                return u.index(i, offsetBy: 3)
            }
            if u[i] == UInt8(ascii: "/") { return nil }
            i = u.index(after: i)
        }
        return nil
    }
}
