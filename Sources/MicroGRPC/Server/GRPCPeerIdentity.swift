import GRPCCore
import GRPCNIOTransportHTTP2
import X509

/// The identity of a client certificate verified over mutual TLS, for ``MicroCore/RPCRequest/peerIdentity``:
/// the first SAN URI (a SPIFFE id, say), else the first SAN DNS name, else the subject's common name.
/// An identity longer than ``maxLength`` bytes or holding anything but printable ASCII is none.
enum GRPCPeerIdentity {
    /// The longest identity taken.
    static let maxLength = 256

    /// The identity of the certificate grpc-swift's HTTP/2 transport verified, nil without one.
    static func of(_ transportSpecific: (any ServerContext.TransportSpecific)?) -> String? {
        guard let certificate = (transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate else { return nil }
        return identity(of: certificate)
    }

    static func identity(of certificate: Certificate) -> String? {
        var uri: String?, dns: String?
        if let names = try? certificate.extensions.subjectAlternativeNames {
            for name in names {
                switch name {
                case .uniformResourceIdentifier(let value): uri = uri ?? value
                case .dnsName(let value): dns = dns ?? value
                default: break
                }
            }
        }
        var commonName: String?
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                commonName = commonName ?? String(attribute.value)
            }
        }
        guard let identity = uri ?? dns ?? commonName, (1...maxLength).contains(identity.utf8.count),
              identity.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return identity
    }
}
