import NIOSSL
import X509

/// The identity of a client certificate verified over mutual TLS, for ``MicroCore/RPCRequest/peerIdentity``
/// (one rule for every transport): the first SAN URI (a SPIFFE id, say), else the first SAN DNS name,
/// else the subject's common name. An identity longer than ``maxLength`` bytes or holding anything but
/// printable ASCII is none.
package enum CertificateIdentity {
    /// The longest identity taken.
    package static let maxLength = 256

    /// The identity of `certificate`, nil when it has none that fits.
    package static func of(_ certificate: Certificate) -> String? {
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

    /// The identity of a certificate swift-nio-ssl verified, nil when it cannot be read or has none.
    package static func of(_ certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        return of(parsed)
    }
}
