import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MicroCore
import MicroGRPC
import Testing

/// A CA, a server certificate (for 127.0.0.1 and localhost) and a client certificate (CN micro-client,
/// SAN URI spiffe://micro/client), and a stranger: a client certificate from another CA, made with openssl.
struct TestCertificates {
    let directory: URL
    var ca: String { directory.appendingPathComponent("ca.pem").path }
    var serverCert: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }
    var clientCert: String { directory.appendingPathComponent("client.pem").path }
    var clientKey: String { directory.appendingPathComponent("client.key").path }
    var strangerCert: String { directory.appendingPathComponent("stranger.pem").path }
    var strangerKey: String { directory.appendingPathComponent("stranger.key").path }

    static func make() async throws -> TestCertificates {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("micro-grpc-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
        set -e
        cd '\(dir.path)'
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 \
          -subj '/CN=Micro Test CA' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
        for who in server client; do
          openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $who.key -out $who.csr -subj "/CN=micro-$who"
        done
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > server.ext
        printf 'extendedKeyUsage=clientAuth\\nsubjectAltName=URI:spiffe://micro/client\\n' > client.ext
        for who in server client; do
          openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $who.pem -days 2 -extfile $who.ext
        done
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other-ca.key -out other-ca.pem -days 2 \
          -subj '/CN=Other CA' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout stranger.key -out stranger.csr -subj "/CN=micro-client"
        openssl x509 -req -in stranger.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -out stranger.pem -days 2 -extfile client.ext
        """
        let result = try await Peers.run("/bin/sh", ["-c", script], timeout: .seconds(30))
        guard result.status == 0 else { throw TLSSetupFailed(output: result.stderr) }
        return TestCertificates(directory: dir)
    }

    struct TLSSetupFailed: Error { var output: String }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

extension GRPCTransportSuite {
    /// TLS and mutual TLS (swift-nio-ssl) with certificates the test makes.
    @Suite struct GRPCTLSTests {
        @Test func tlsServesClientsThatTrustTheCA() async throws {
            let certs = try await TestCertificates.make()
            defer { certs.remove() }
            var configuration = GRPCServerConfiguration()
            configuration.transportSecurity = .tls(certificateChain: [.file(path: certs.serverCert, format: .pem)],
                                                   privateKey: .file(path: certs.serverKey, format: .pem))
            let server = try await GRPCTestServer.start(configuration: configuration)

            let trusting = GRPCClientConfiguration(transportSecurity: .tls { $0.trustRoots = .certificates([.file(path: certs.ca, format: .pem)]) })
            let client = try await microClient(addresses: [server.address], configuration: trusting, retries: 0)
            let reply: Reply = try await client.call("greeter", "Test.Hello", Hello(name: "tls"))
            #expect(reply.message == "Hello tls")
            await client.shutdown()

            let plaintext = try await microClient(addresses: [server.address], retries: 0)
            let refused = await caught { let _: Reply = try await plaintext.call("greeter", "Test.Hello", Hello(name: "x")) }
            #expect(refused != nil)
            await plaintext.shutdown()

            let untrusting = try await microClient(addresses: [server.address], configuration: GRPCClientConfiguration(transportSecurity: .tls),
                                                   retries: 0)
            let untrusted = await caught { let _: Reply = try await untrusting.call("greeter", "Test.Hello", Hello(name: "x")) }
            #expect(untrusted != nil)
            await untrusting.shutdown()

            // Python grpcio over TLS too.
            let python = try await Peers.python()
            let result = try await Peers.run(python, [Peers.script("interop_client.py"), "--tls", certs.ca, server.address, "greeter_paths", "large_unary"])
            #expect(result.stdout.contains("PASS greeter_paths") && result.stdout.contains("PASS large_unary"), "\(result.stdout) \(result.stderr)")
            await server.stop()
        }

        @Test func mutualTLSRequiresAClientCertificateTheHandlerCanSee() async throws {
            let certs = try await TestCertificates.make()
            defer { certs.remove() }
            var configuration = GRPCServerConfiguration()
            configuration.transportSecurity = .mTLS(certificateChain: [.file(path: certs.serverCert, format: .pem)],
                                                    privateKey: .file(path: certs.serverKey, format: .pem)) {
                $0.trustRoots = .certificates([.file(path: certs.ca, format: .pem)])
            }
            let peer = Shared("")
            let server = try await GRPCTestServer.start(configuration: configuration) { router in
                router.handle("Test.WhoAmI") { (_: Hello, _: HandlerContext) -> Reply in
                    let context = GRPCCallContext.current?.transportSpecific as? HTTP2ServerTransport.Posix.Context
                    peer.update { $0 = context?.peerCertificate.map { "\($0.subject)" } ?? "none" }
                    return Reply(message: "ok")
                }
            }
            let withCert = GRPCClientConfiguration(transportSecurity: .mTLS(certificateChain: [.file(path: certs.clientCert, format: .pem)],
                                                                            privateKey: .file(path: certs.clientKey, format: .pem)) {
                $0.trustRoots = .certificates([.file(path: certs.ca, format: .pem)])
            })
            let client = try await microClient(addresses: [server.address], configuration: withCert, retries: 0)
            let reply: Reply = try await client.call("greeter", "Test.WhoAmI", Hello(name: "x"))
            #expect(reply.message == "ok")
            #expect(peer.value.contains("micro-client"), "\(peer.value)")
            await client.shutdown()

            let noCert = try await microClient(addresses: [server.address],
                                               configuration: GRPCClientConfiguration(transportSecurity: .tls {
                                                   $0.trustRoots = .certificates([.file(path: certs.ca, format: .pem)])
                                               }), retries: 0)
            let refused = await caught { let _: Reply = try await noCert.call("greeter", "Test.Hello", Hello(name: "x")) }
            #expect(refused != nil)
            await noCert.shutdown()

            let python = try await Peers.python()
            let result = try await Peers.run(python, [Peers.script("interop_client.py"), "--tls", certs.ca, "--cert", certs.clientCert, "--key",
                                                      certs.clientKey, server.address, "empty_unary"])
            #expect(result.stdout.contains("PASS empty_unary"), "\(result.stdout) \(result.stderr)")
            await server.stop()
        }

        @Test func aVerifiedClientCertificateIsAnAccountTheRulesSee() async throws {
            let certs = try await TestCertificates.make()
            defer { certs.remove() }
            var configuration = GRPCServerConfiguration()
            configuration.transportSecurity = .mTLS(certificateChain: [.file(path: certs.serverCert, format: .pem)],
                                                    privateKey: .file(path: certs.serverKey, format: .pem)) {
                $0.trustRoots = .certificates([.file(path: certs.ca, format: .pem)])
            }
            // The certificate's SAN URI is its identity; one rule grants it Test.WhoAmI, nothing grants Test.Hello.
            let auth = MemoryAuth()
            try await auth.grant(Rule(id: "client", scope: "x509:spiffe://micro/client",
                                      resource: Resource(type: "service", name: "*", endpoint: "Test.WhoAmI")))
            let server = try await GRPCTestServer.start(configuration: configuration) { router in
                router.use(AuthHandlerWrapper(auth: auth))
                router.handle("Test.WhoAmI") { (_: Hello, context: HandlerContext) -> Reply in
                    Reply(message: "\(context.account?.id ?? "nobody") \(context.account?.type.rawValue ?? "") \(context.account?.issuer ?? "")")
                }
            }
            func client(_ cert: String, _ key: String) -> GRPCClientConfiguration {
                GRPCClientConfiguration(transportSecurity: .mTLS(certificateChain: [.file(path: cert, format: .pem)],
                                                                 privateKey: .file(path: key, format: .pem)) {
                    $0.trustRoots = .certificates([.file(path: certs.ca, format: .pem)])
                })
            }
            let trusted = try await microClient(addresses: [server.address], configuration: client(certs.clientCert, certs.clientKey), retries: 0)
            let reply: Reply = try await trusted.call("greeter", "Test.WhoAmI", Hello(name: "x"))
            #expect(reply.message == "spiffe://micro/client service x509")
            let denied = await caught { let _: Reply = try await trusted.call("greeter", "Test.Hello", Hello(name: "x")) }
            #expect((denied as? MicroError)?.code == 403, "\(String(describing: denied))")
            await trusted.shutdown()

            // The same name from another CA: the handshake fails, no handler runs.
            let stranger = try await microClient(addresses: [server.address], configuration: client(certs.strangerCert, certs.strangerKey), retries: 0)
            let refused = await caught { let _: Reply = try await stranger.call("greeter", "Test.WhoAmI", Hello(name: "x")) }
            #expect(refused != nil && (refused as? MicroError)?.code != 403, "\(String(describing: refused))")
            await stranger.shutdown()
            await server.stop()
        }
    }
}
