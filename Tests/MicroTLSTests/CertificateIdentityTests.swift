import Crypto
import Foundation
import MicroTLS
import Testing
import X509

/// Which name of a client certificate becomes its identity (on every transport), and names that become none.
@Suite struct CertificateIdentityTests {
    static let key = Certificate.PrivateKey(P256.Signing.PrivateKey())

    static func certificate(commonName: String, names: [GeneralName] = []) throws -> Certificate {
        let subject = try DistinguishedName { CommonName(commonName) }
        let extensions = try Certificate.Extensions {
            if !names.isEmpty { SubjectAlternativeNames(names) }
        }
        return try Certificate(version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
                               notValidBefore: Date(), notValidAfter: Date() + 3600, issuer: subject, subject: subject,
                               signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
    }

    @Test func aSANURIWinsThenADNSNameThenTheCommonName() throws {
        let all = try Self.certificate(commonName: "cn", names: [.dnsName("billing.local"), .uniformResourceIdentifier("spiffe://micro/billing")])
        #expect(CertificateIdentity.of(all) == "spiffe://micro/billing")
        #expect(CertificateIdentity.of(try Self.certificate(commonName: "cn", names: [.dnsName("billing.local")])) == "billing.local")
        #expect(CertificateIdentity.of(try Self.certificate(commonName: "micro-client")) == "micro-client")
    }

    @Test(arguments: ["", "two words", "tab\there", "new\nline", "caf\u{e9}", String(repeating: "a", count: 257)])
    func aNameThatIsNotAShortPrintableTokenIsNoIdentity(_ name: String) throws {
        #expect(CertificateIdentity.of(try Self.certificate(commonName: name)) == nil)
        // A SAN is an IA5String: ASCII only (swift-certificates refuses to encode anything else).
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            #expect(CertificateIdentity.of(try Self.certificate(commonName: "ok", names: [.uniformResourceIdentifier(name)])) == nil)
        }
    }
}
