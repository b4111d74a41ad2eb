import GRPCNIOTransportHTTP2
import MicroCore
import MicroTLS

extension EnginePlugin {
    /// The `grpc` transport: endpoints over gRPC (HTTP/2), with health and reflection; TLS (mutual with
    /// `MICRO_TLS_CLIENT_CA_FILE`) from the `MICRO_TLS_*` settings, as the HTTP transport takes them.
    public static let grpc = EnginePlugin("grpc") { engines in
        engines.add(ClientTransportFactory("grpc") { context in
            GRPCClientTransport(configuration: GRPCClientConfiguration(
                transportSecurity: try .settings(TLSSettings(environment: context.environment))))
        })
        engines.add(ServerTransportFactory("grpc") { context in
            GRPCServerTransport(configuration: GRPCServerConfiguration(
                transportSecurity: try .settings(TLSSettings(environment: context.environment))))
        })
    }
}

extension HTTP2ServerTransport.Posix.TransportSecurity {
    /// Serving as `settings` say: plaintext unless ``MicroTLS/TLSSettings/serves``; mutual TLS with a
    /// client CA. The files are read here, so a bad one is a ``MicroCore/ConfigurationError`` at start.
    static func settings(_ settings: TLSSettings) throws -> Self {
        guard try settings.serverConfiguration() != nil, let certificate = settings.certificateFile, let key = settings.keyFile else {
            return .plaintext
        }
        let chain: [TLSConfig.CertificateSource] = [.file(path: certificate, format: .pem)]
        guard let clientCA = settings.clientCAFile else { return .tls(certificateChain: chain, privateKey: .file(path: key, format: .pem)) }
        return .mTLS(certificateChain: chain, privateKey: .file(path: key, format: .pem)) {
            $0.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
        }
    }
}

extension HTTP2ClientTransport.Posix.TransportSecurity {
    /// Calling as `settings` say: plaintext unless ``MicroTLS/TLSSettings/isEnabled``; trusting the CA
    /// file (else the system's roots), presenting the certificate when one is given. The server name
    /// is the host called (`MICRO_TLS_SERVER_NAME` is the HTTP transport's and NATS's).
    static func settings(_ settings: TLSSettings) throws -> Self {
        guard try settings.clientConfiguration() != nil else { return .plaintext }
        let trust: (inout TLS) -> Void = { tls in
            if let ca = settings.caFile { tls.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
        }
        guard let certificate = settings.certificateFile, let key = settings.keyFile else { return .tls(configure: trust) }
        return .mTLS(certificateChain: [.file(path: certificate, format: .pem)], privateKey: .file(path: key, format: .pem), configure: trust)
    }
}
