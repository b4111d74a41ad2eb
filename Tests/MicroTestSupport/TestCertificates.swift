import Foundation

/// Throw-away certificates made with openssl for one test: a CA; a server certificate for 127.0.0.1
/// and localhost (CN localhost; usable as a client certificate too); a client certificate (CN
/// micro-client, SAN URI spiffe://micro/client); and a stranger: a client certificate with the same
/// names from another CA. EC P-256 keys, valid two days.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var ca: String { path("ca.pem") }
    public var serverCert: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    public var clientCert: String { path("client.pem") }
    public var clientKey: String { path("client.key") }
    /// The other CA, which signed the stranger.
    public var otherCA: String { path("other-ca.pem") }
    public var strangerCert: String { path("stranger.pem") }
    public var strangerKey: String { path("stranger.key") }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Makes the certificates in a new temporary directory (``remove()`` deletes it).
    public static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("micro-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let openssl else { throw EngineMissing(description: "openssl not found") }
        func run(_ arguments: [String]) throws {
            try ChildProcess.run(openssl, arguments, directory: directory, timeout: .seconds(30))
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let caExtensions = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        try run(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Micro Test CA"] + caExtensions)
        try run(["req", "-x509"] + ec + ["-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Other CA"] + caExtensions)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
            .write(to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://micro/client\n"
            .write(to: directory.appendingPathComponent("client.ext"), atomically: true, encoding: .utf8)
        for (name, cn, ca, ext) in [("server", "localhost", "ca", "server"), ("client", "micro-client", "ca", "client"),
                                    ("stranger", "micro-client", "other-ca", "client")] {
            try run(["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(cn)"])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                     "-out", "\(name).pem", "-days", "2", "-extfile", "\(ext).ext"])
        }
        return TestCertificates(directory: directory)
    }

    /// Deletes the certificates.
    public func remove() { try? FileManager.default.removeItem(at: directory) }
}
