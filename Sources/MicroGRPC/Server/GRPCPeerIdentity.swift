import GRPCCore
import GRPCNIOTransportHTTP2
import MicroTLS

/// The identity of the client certificate grpc-swift's HTTP/2 transport verified over mutual TLS, for
/// ``MicroCore/RPCRequest/peerIdentity``, named as on every transport (MicroTLS's `CertificateIdentity`).
enum GRPCPeerIdentity {
    /// The identity of the verified client certificate, nil without one.
    static func of(_ transportSpecific: (any ServerContext.TransportSpecific)?) -> String? {
        guard let certificate = (transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate else { return nil }
        return CertificateIdentity.of(certificate)
    }
}
