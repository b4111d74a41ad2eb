import MicroCore
import NIOSSL

/// Where a process's TLS material is and what it asks of peers, from `MICRO_ENABLE_TLS` and the
/// `MICRO_TLS_*` variables (go-micro's names where it has them) or set in code; turned into
/// swift-nio-ssl configurations for serving and for calling. Files are read when a configuration is made.
public struct TLSSettings: Sendable, Equatable {
    /// TLS is asked for even without files (`MICRO_ENABLE_TLS`): calls trust the system's roots, serving needs a certificate.
    public var enabled: Bool
    /// The PEM certificate chain this process presents (`MICRO_TLS_CERT_FILE`).
    public var certificateFile: String?
    /// Its PEM private key (`MICRO_TLS_KEY_FILE`).
    public var keyFile: String?
    /// PEM CA certificates clients must hold a certificate of (`MICRO_TLS_CLIENT_CA_FILE`): mutual TLS.
    public var clientCAFile: String?
    /// PEM CA certificates trusted for the servers this process calls (`MICRO_TLS_CA_FILE`; nil: the system's roots).
    public var caFile: String?
    /// The name servers' certificates are checked against, and sent as SNI (`MICRO_TLS_SERVER_NAME`;
    /// nil: the host connected to, or its IP address).
    public var serverName: String?

    /// Settings set in code.
    public init(enabled: Bool = false, certificateFile: String? = nil, keyFile: String? = nil, clientCAFile: String? = nil,
                caFile: String? = nil, serverName: String? = nil) {
        self.enabled = enabled
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.caFile = caFile
        self.serverName = serverName
    }

    /// The settings of `MICRO_ENABLE_TLS`, `MICRO_TLS_CERT_FILE`, `MICRO_TLS_KEY_FILE`,
    /// `MICRO_TLS_CLIENT_CA_FILE`, `MICRO_TLS_CA_FILE` and `MICRO_TLS_SERVER_NAME`.
    public init(environment: MicroEnvironment) {
        self.init(enabled: environment.enableTLS, certificateFile: environment.tlsCertFile, keyFile: environment.tlsKeyFile,
                  clientCAFile: environment.tlsClientCAFile, caFile: environment.tlsCAFile, serverName: environment.tlsServerName)
    }

    /// Whether calls go over TLS: asked for, or any file given.
    public var isEnabled: Bool {
        enabled || certificateFile != nil || keyFile != nil || clientCAFile != nil || caFile != nil
    }

    /// Whether serving is over TLS: asked for, or a certificate or client CA given.
    public var serves: Bool {
        enabled || certificateFile != nil || keyFile != nil || clientCAFile != nil
    }

    /// How to serve (ALPN offering `applicationProtocols`), nil when serving is plaintext (``serves``
    /// is false); with a client CA, clients must present a certificate it signed. Throws a
    /// ``MicroCore/ConfigurationError`` naming the variable when a file is missing or unreadable.
    public func serverConfiguration(applicationProtocols: [String] = []) throws -> TLSConfiguration? {
        guard serves else { return nil }
        guard let certificateFile, let keyFile else {
            throw ConfigurationError("serving over TLS needs a certificate and its key (MICRO_TLS_CERT_FILE and MICRO_TLS_KEY_FILE)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try Self.certificates(certificateFile, variable: "MICRO_TLS_CERT_FILE").map { .certificate($0) },
            privateKey: .privateKey(try Self.key(keyFile)))
        if let clientCAFile {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(try Self.certificates(clientCAFile, variable: "MICRO_TLS_CLIENT_CA_FILE"))
        }
        configuration.applicationProtocols = applicationProtocols
        return configuration
    }

    /// How to call servers (ALPN asking for `applicationProtocols`), nil when calls are plaintext
    /// (``isEnabled`` is false): trusting ``caFile`` (else the system's roots), presenting the
    /// certificate when one is given. Throws like ``serverConfiguration(applicationProtocols:)``.
    public func clientConfiguration(applicationProtocols: [String] = []) throws -> TLSConfiguration? {
        guard isEnabled else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile { configuration.trustRoots = .certificates(try Self.certificates(caFile, variable: "MICRO_TLS_CA_FILE")) }
        switch (certificateFile, keyFile) {
        case (let certificateFile?, let keyFile?):
            configuration.certificateChain = try Self.certificates(certificateFile, variable: "MICRO_TLS_CERT_FILE").map { .certificate($0) }
            configuration.privateKey = .privateKey(try Self.key(keyFile))
        case (nil, nil):
            break
        default:
            throw ConfigurationError("a TLS certificate needs its key and a key its certificate (MICRO_TLS_CERT_FILE and MICRO_TLS_KEY_FILE)")
        }
        configuration.applicationProtocols = applicationProtocols
        return configuration
    }

    private static func certificates(_ path: String, variable: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do { certificates = try NIOSSLCertificate.fromPEMFile(path) } catch {
            throw ConfigurationError("\(variable): cannot read PEM certificates from \(path): \(error)")
        }
        guard !certificates.isEmpty else { throw ConfigurationError("\(variable): no PEM certificate in \(path)") }
        return certificates
    }

    private static func key(_ path: String) throws -> NIOSSLPrivateKey {
        // The error names the file, never its content.
        do { return try NIOSSLPrivateKey(file: path, format: .pem) } catch {
            throw ConfigurationError("MICRO_TLS_KEY_FILE: cannot read a PEM private key from \(path)")
        }
    }
}
