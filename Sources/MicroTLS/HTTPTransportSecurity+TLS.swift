import MicroCore
import MicroHTTP
import NIOCore
import NIOSSL

extension HTTPTransportSecurity {
    /// TLS for the HTTP transport from swift-nio-ssl configurations: `server` serves (ALPN offers
    /// `h2` and `http/1.1`; with `certificateVerification` on, clients must present a certificate and
    /// its identity reaches ``MicroCore/RPCRequest/peerIdentity``), `client` calls (ALPN asks for `h2`
    /// or `http/1.1` as the transport speaks), checking servers' certificates against `serverName`
    /// (nil: the host called). Either may be nil: that side stays plaintext.
    public static func tls(server: TLSConfiguration?, client: TLSConfiguration?, serverName: String? = nil) throws -> HTTPTransportSecurity {
        let serverContext = try server.map { configuration -> NIOSSLContext in
            var configuration = configuration
            configuration.applicationProtocols = ["h2", "http/1.1"]
            return try NIOSSLContext(configuration: configuration)
        }
        let clientContexts = try client.map { configuration -> (http1: NIOSSLContext, http2: NIOSSLContext) in
            var http1 = configuration, http2 = configuration
            http1.applicationProtocols = ["http/1.1"]
            http2.applicationProtocols = ["h2"]
            return (try NIOSSLContext(configuration: http1), try NIOSSLContext(configuration: http2))
        }
        // Only a server that verifies client certificates has a verified peer to name.
        let verifiesClients = server.map { Self.verifiesPeers($0) } ?? false
        var serve: (@Sendable (any Channel) throws -> Void)?
        if let serverContext {
            serve = { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext)) }
        }
        var call: (@Sendable (any Channel, String, Bool) throws -> Void)?
        if let clientContexts {
            call = { channel, host, http2 in
                // SNI takes a name, never an address: an IP address is checked against the certificate's IP SANs.
                let name = serverName ?? (HTTPTransportSecurity.isIPAddress(host) ? nil : host)
                let handler = try NIOSSLClientHandler(context: http2 ? clientContexts.http2 : clientContexts.http1, serverHostname: name)
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
        return HTTPTransportSecurity(server: serve, peerIdentity: { channel in
            guard verifiesClients, let certificate = try? channel.pipeline.syncOperations.nioSSL_peerCertificate() else { return nil }
            return CertificateIdentity.of(certificate)
        }, client: call)
    }

    /// TLS from settings (`MICRO_TLS_*`): calls over TLS when ``TLSSettings/isEnabled``; with
    /// `serving`, serving over TLS when ``TLSSettings/serves`` (a certificate is then required).
    public init(settings: TLSSettings, serving: Bool) throws {
        self = try .tls(server: serving ? settings.serverConfiguration() : nil, client: settings.clientConfiguration(),
                        serverName: settings.serverName)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// Whether a server configuration asks for and verifies client certificates.
    static func verifiesPeers(_ configuration: TLSConfiguration) -> Bool {
        switch configuration.certificateVerification {
        case .fullVerification, .noHostnameVerification: return true
        default: return false
        }
    }
}
