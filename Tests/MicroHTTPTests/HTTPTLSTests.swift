import Foundation
import MicroCore
import MicroHTTP
import MicroTLS
import MicroTestSupport
import NIOCore
import Testing

/// TLS and mutual TLS on the HTTP transport, real handshakes with openssl-made certificates.
@Suite struct HTTPTLSTests {
    @Test func tlsServesCallsAndStreamsOverHTTP1AndHTTP2() async throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let server = try await TLSFixtures.start(try TLSFixtures.server(certs, mutual: false))
        for http2 in [false, true] {
            let transport = TLSFixtures.transport(try TLSFixtures.client(certs), http2: http2)
            #expect(try await TLSFixtures.hello(transport, server.address) == "Hello tls")
            // A stream (go-micro's form over HTTP/1.1, frames over HTTP/2) over the same TLS.
            let request = RPCRequest(service: "test", endpoint: "Test.Countdown", deadline: .now() + .seconds(5), isStream: true)
            let stream = try await transport.openStream(request, to: server.address)
            try await stream.send(ByteBuffer(string: #"{"from":3}"#))
            try await stream.finishSending()
            var ticks: [String] = []
            while let message = try await stream.receive() { ticks.append(String(buffer: message)) }
            #expect(ticks == [#"{"n":2}"#, #"{"n":1}"#, #"{"n":0}"#], "http2: \(http2)")
            await transport.shutdown()
        }
        // curl, a client nobody here wrote: HTTP/2 by ALPN, and HTTP/1.1.
        let port = server.address.split(separator: ":").last.map(String.init) ?? ""
        for version in ["--http2", "--http1.1"] {
            guard let result = try await curl(["-sS", version, "--cacert", certs.ca, "-w", " %{http_version}", "https://127.0.0.1:\(port)/health"]) else { break }
            #expect(result.stdout == (version == "--http2" ? #"{"status":"ok"} 2"# : #"{"status":"ok"} 1.1"#), "\(result.stdout) \(result.stderr)")
        }
        await server.stop()
    }

    @Test func plaintextToTLSAWrongCAAndTLSToPlaintextFailCleanly() async throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let server = try await TLSFixtures.start(try TLSFixtures.server(certs, mutual: false))
        // Each fails at once with a transport error, not at the call's 5 s deadline.
        let plaintext = TLSFixtures.transport(nil)
        let refused = await caught { _ = try await TLSFixtures.hello(plaintext, server.address) }
        #expect(refused is TransportError && (refused as? TransportError)?.code != .timeout, "\(String(describing: refused))")
        await plaintext.shutdown()
        let otherCA = TLSFixtures.transport(try TLSFixtures.client(certs, ca: certs.otherCA))
        let untrusted = await caught { _ = try await TLSFixtures.hello(otherCA, server.address) }
        #expect(untrusted is TransportError && (untrusted as? TransportError)?.code != .timeout, "\(String(describing: untrusted))")
        await otherCA.shutdown()
        await server.stop()

        let plainServer = try await TLSFixtures.start(nil)
        let tls = TLSFixtures.transport(try TLSFixtures.client(certs))
        let mismatch = await caught { _ = try await TLSFixtures.hello(tls, plainServer.address) }
        #expect(mismatch is TransportError && (mismatch as? TransportError)?.code != .timeout, "\(String(describing: mismatch))")
        await tls.shutdown()
        await plainServer.stop()
    }

    @Test func mutualTLSRefusesClientsWithoutACertificateOfItsCA() async throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let server = try await TLSFixtures.start(try TLSFixtures.server(certs, mutual: true))
        let withCertificate = TLSFixtures.transport(try TLSFixtures.client(certs, certificate: certs.clientCert, key: certs.clientKey))
        #expect(try await TLSFixtures.hello(withCertificate, server.address) == "Hello tls")
        await withCertificate.shutdown()
        for (certificate, key) in [(nil, nil), (certs.strangerCert, certs.strangerKey)] as [(String?, String?)] {
            for http2 in [false, true] {
                let transport = TLSFixtures.transport(try TLSFixtures.client(certs, certificate: certificate, key: key), http2: http2)
                let refused = await caught { _ = try await TLSFixtures.hello(transport, server.address) }
                #expect(refused is TransportError, "\(certificate ?? "no certificate") http2 \(http2): \(String(describing: refused))")
                await transport.shutdown()
            }
        }
        await server.stop()
    }

    @Test func theVerifiedCertificatesIdentityReachesTheRulesAndNoHeaderCanForgeIt() async throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        // One rule grants the client certificate (its SAN URI) Test.WhoAmI; nothing grants Test.Hello or Test.Countdown.
        let auth = MemoryAuth()
        try await auth.grant(Rule(id: "client", scope: "x509:spiffe://micro/client",
                                  resource: Resource(type: "service", name: "*", endpoint: "Test.WhoAmI")))
        let server = try await TLSFixtures.start(try TLSFixtures.server(certs, mutual: true), auth: auth)
        for http2 in [false, true] {
            let client = TLSFixtures.transport(try TLSFixtures.client(certs, certificate: certs.clientCert, key: certs.clientKey), http2: http2)
            #expect(try await TLSFixtures.hello(client, server.address, endpoint: "Test.WhoAmI") == "spiffe://micro/client x509")
            let denied = await caught { _ = try await TLSFixtures.hello(client, server.address) }
            #expect((denied as? MicroError)?.code == 403, "\(String(describing: denied))")
            let request = RPCRequest(service: "test", endpoint: "Test.Countdown", deadline: .now() + .seconds(5), isStream: true)
            let streamDenied = await caught {
                let stream = try await client.openStream(request, to: server.address)
                try await stream.send(ByteBuffer(string: #"{"from":1}"#))
                try await stream.finishSending()
                while try await stream.receive() != nil {}
            }
            #expect((streamDenied as? MicroError)?.code == 403, "\(String(describing: streamDenied))")
            await client.shutdown()
        }
        // Another certificate of the same CA (identity `localhost`) claiming the granted identity in headers: refused.
        let forger = TLSFixtures.transport(try TLSFixtures.client(certs, certificate: certs.serverCert, key: certs.serverKey))
        let forged: Metadata = ["Micro-Peer-Identity": "spiffe://micro/client", "X-Forwarded-Client-Cert": "URI=spiffe://micro/client",
                                "X-SSL-Client-S-DN": "CN=micro-client", "Micro-Account": "spiffe://micro/client"]
        let refused = await caught { _ = try await TLSFixtures.hello(forger, server.address, endpoint: "Test.WhoAmI", metadata: forged) }
        #expect((refused as? MicroError)?.code == 403, "\(String(describing: refused))")
        await forger.shutdown()
        await server.stop()

        // A server that does not ask for client certificates has no peer identity: the same client is nobody (401).
        let oneWay = try await TLSFixtures.start(try TLSFixtures.server(certs, mutual: false), auth: auth)
        let client = TLSFixtures.transport(try TLSFixtures.client(certs, certificate: certs.clientCert, key: certs.clientKey))
        let anonymous = await caught { _ = try await TLSFixtures.hello(client, oneWay.address, endpoint: "Test.WhoAmI") }
        #expect((anonymous as? MicroError)?.code == 401, "\(String(describing: anonymous))")
        await client.shutdown()
        await oneWay.stop()
    }

    @Test func settingsThatCannotServeAreConfigurationErrors() throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        #expect(throws: ConfigurationError.self) { _ = try HTTPTransportSecurity(settings: TLSSettings(enabled: true), serving: true) }
        #expect(throws: ConfigurationError.self) {
            _ = try HTTPTransportSecurity(settings: TLSSettings(certificateFile: certs.serverCert, keyFile: "/nonexistent.key"), serving: true)
        }
        #expect(throws: ConfigurationError.self) {
            _ = try HTTPTransportSecurity(settings: TLSSettings(certificateFile: certs.clientCert, caFile: certs.ca), serving: false)
        }
        // A key file that is not a key: the error names the file, never its bytes.
        let error = #expect(throws: ConfigurationError.self) {
            _ = try HTTPTransportSecurity(settings: TLSSettings(certificateFile: certs.serverCert, keyFile: certs.ca), serving: true)
        }
        #expect(error?.description.contains("BEGIN") == false)
        #expect(throws: ConfigurationError.self) { _ = try TLSSettings(caFile: certs.serverKey).clientConfiguration() }
        // Calling only: MICRO_ENABLE_TLS alone trusts the system's roots, with nothing to serve.
        #expect(try TLSSettings(enabled: true).clientConfiguration() != nil)
        #expect(try TLSSettings().clientConfiguration() == nil && TLSSettings().serverConfiguration() == nil)
    }
}

/// TLS from settings naming the test certificates, and the servers and clients of these tests.
enum TLSFixtures {
    /// A server presenting the server certificate; with `mutual`, clients need a certificate of the test CA.
    static func server(_ certs: TestCertificates, mutual: Bool) throws -> HTTPTransportSecurity {
        try HTTPTransportSecurity(settings: TLSSettings(certificateFile: certs.serverCert, keyFile: certs.serverKey,
                                                        clientCAFile: mutual ? certs.ca : nil), serving: true)
    }

    /// A client trusting `ca` (the test CA by default), presenting `certificate` and `key` when given.
    static func client(_ certs: TestCertificates, ca: String? = nil, certificate: String? = nil, key: String? = nil) throws -> HTTPTransportSecurity {
        try HTTPTransportSecurity(settings: TLSSettings(certificateFile: certificate, keyFile: key, caFile: ca ?? certs.ca), serving: false)
    }

    /// A client transport with `security` (nil: plaintext), HTTP/2 or HTTP/1.1.
    static func transport(_ security: HTTPTransportSecurity?, http2: Bool = false) -> HTTPClientTransport {
        HTTPClientTransport(configuration: HTTPTransportConfiguration(connectTimeout: .seconds(2), http2: http2, security: security))
    }

    /// The test server with `security`, `Test.WhoAmI` (the caller's account as the auth saw it) and, given one, `auth` checking every call.
    static func start(_ security: HTTPTransportSecurity?, auth: (any Auth)? = nil) async throws -> TestServer {
        try await TestServer.start(configuration: HTTPTransportConfiguration(security: security)) { router in
            if let auth { router.use(AuthHandlerWrapper(auth: auth)) }
            router.handle("Test.WhoAmI") { (_: Hello, context: HandlerContext) in
                Reply(message: "\(context.account?.id ?? "nobody") \(context.account?.issuer ?? "")")
            }
        }
    }

    /// One unary JSON call over `transport`, the reply's message.
    static func hello(_ transport: HTTPClientTransport, _ address: String, endpoint: String = "Test.Hello", name: String = "tls",
                      metadata: Metadata = Metadata()) async throws -> String {
        let request = RPCRequest(service: "test", endpoint: endpoint, metadata: metadata, deadline: .now() + .seconds(5), body: try encode(Hello(name: name)))
        let response = try await transport.call(request, to: address)
        return try JSONDecoder().decode(Reply.self, from: Data(response.body.readableBytesView)).message
    }
}
