import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MicroCore
import MicroGRPC
import MicroTestSupport
import Testing

extension GRPCTransportSuite {
    /// TLS and mutual TLS (swift-nio-ssl) with certificates the test makes.
    @Suite struct GRPCTLSTests {
        @Test func tlsServesClientsThatTrustTheCA() async throws {
            let certs = try TestCertificates.make()
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
            let certs = try TestCertificates.make()
            defer { certs.remove() }
            let configuration = certs.mutualTLSServer()
            let peer = Shared("")
            let server = try await GRPCTestServer.start(configuration: configuration) { router in
                router.handle("Test.WhoAmI") { (_: Hello, _: HandlerContext) -> Reply in
                    let context = GRPCCallContext.current?.transportSpecific as? HTTP2ServerTransport.Posix.Context
                    peer.update { $0 = context?.peerCertificate.map { "\($0.subject)" } ?? "none" }
                    return Reply(message: "ok")
                }
            }
            let withCert = certs.mutualTLSClient(cert: certs.clientCert, key: certs.clientKey)
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
            let certs = try TestCertificates.make()
            defer { certs.remove() }
            let configuration = certs.mutualTLSServer()
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
            let trusted = try await microClient(addresses: [server.address], configuration: certs.mutualTLSClient(cert: certs.clientCert, key: certs.clientKey), retries: 0)
            let reply: Reply = try await trusted.call("greeter", "Test.WhoAmI", Hello(name: "x"))
            #expect(reply.message == "spiffe://micro/client service x509")
            let denied = await caught { let _: Reply = try await trusted.call("greeter", "Test.Hello", Hello(name: "x")) }
            #expect((denied as? MicroError)?.code == 403, "\(String(describing: denied))")
            await trusted.shutdown()

            // The same name from another CA: the handshake fails, no handler runs.
            let stranger = try await microClient(addresses: [server.address], configuration: certs.mutualTLSClient(cert: certs.strangerCert, key: certs.strangerKey), retries: 0)
            let refused = await caught { let _: Reply = try await stranger.call("greeter", "Test.WhoAmI", Hello(name: "x")) }
            #expect(refused != nil && (refused as? MicroError)?.code != 403, "\(String(describing: refused))")
            await stranger.shutdown()
            await server.stop()
        }

        @Test func settingsServeAndCallOverMutualTLS() async throws {
            let certs = try TestCertificates.make()
            defer { certs.remove() }
            // The `grpc` engines made from MICRO_TLS_* alone: the server requires client certificates of the test CA.
            let serving = MicroEnvironment(["MICRO_TRANSPORT": "grpc", "MICRO_TLS_CERT_FILE": certs.serverCert,
                                            "MICRO_TLS_KEY_FILE": certs.serverKey, "MICRO_TLS_CLIENT_CA_FILE": certs.ca])
            let transport = try Engines([.grpc]).makeTransport(EngineContext(environment: serving)).server
            let router = Router(serviceName: "greeter", logger: GRPCTestServer.logger)
            router.use(AuthHandlerWrapper(auth: MemoryAuth()))
            router.handle("Test.WhoAmI") { (_: Hello, context: HandlerContext) in Reply(message: context.account?.id ?? "nobody") }
            let listener = try await transport.listen(on: "127.0.0.1:0", handler: router)
            let task = Task { _ = try? await listener.run() }
            func client(_ settings: [String: String]) async throws -> Client {
                let environment = MicroEnvironment(settings.merging(["MICRO_TRANSPORT": "grpc", "MICRO_TLS_CA_FILE": certs.ca]) { $1 })
                return try await microClient(addresses: [listener.address],
                                             transport: Engines([.grpc]).makeClientTransport(EngineContext(environment: environment)), retries: 0)
            }
            let trusted = try await client(["MICRO_TLS_CERT_FILE": certs.clientCert, "MICRO_TLS_KEY_FILE": certs.clientKey])
            let reply: Reply = try await trusted.call("greeter", "Test.WhoAmI", Hello(name: "x"))
            #expect(reply.message == "spiffe://micro/client")
            await trusted.shutdown()
            let anonymous = try await client([:])
            let refused = await caught { let _: Reply = try await anonymous.call("greeter", "Test.WhoAmI", Hello(name: "x")) }
            #expect(refused != nil)
            await anonymous.shutdown()
            // Serving needs a readable certificate: a missing file fails the engine at once.
            #expect(throws: ConfigurationError.self) {
                _ = try Engines([.grpc]).makeTransport(EngineContext(environment: MicroEnvironment(["MICRO_TRANSPORT": "grpc", "MICRO_ENABLE_TLS": "1"])))
            }
            await listener.shutdown(gracePeriod: .seconds(1))
            await task.value
        }
    }
}

extension TestCertificates {
    /// A gRPC server configuration presenting the test server certificate and requiring client certificates of the test CA.
    fileprivate func mutualTLSServer() -> GRPCServerConfiguration {
        var configuration = GRPCServerConfiguration()
        configuration.transportSecurity = .mTLS(certificateChain: [.file(path: serverCert, format: .pem)],
                                                privateKey: .file(path: serverKey, format: .pem)) {
            $0.trustRoots = .certificates([.file(path: ca, format: .pem)])
        }
        return configuration
    }

    /// A gRPC client configuration presenting `cert`/`key` and trusting the test CA.
    fileprivate func mutualTLSClient(cert: String, key: String) -> GRPCClientConfiguration {
        GRPCClientConfiguration(transportSecurity: .mTLS(certificateChain: [.file(path: cert, format: .pem)],
                                                         privateKey: .file(path: key, format: .pem)) {
            $0.trustRoots = .certificates([.file(path: ca, format: .pem)])
        })
    }
}
