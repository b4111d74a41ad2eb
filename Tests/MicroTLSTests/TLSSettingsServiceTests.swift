import Foundation
import Micro
import MicroTLS
import MicroTestSupport
import Testing

/// A service and a client configured only by `MICRO_TLS_*`: calls and the HTTP broker over mutual TLS.
@Suite struct TLSSettingsServiceTests {
    struct Note: Codable, Sendable, Equatable { var text: String }

    @Test func aServiceAndAClientFromSettingsCallAndPublishOverMutualTLS() async throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let directory = NSTemporaryDirectory() + "micro-tls-service-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shared = ["MICRO_HOME": directory, "MICRO_REGISTRY_ADDRESS": directory + "/registry", "MICRO_TLS_CA_FILE": certs.ca]
        // The service serves with the server certificate, requires client certificates of the test CA,
        // and grants the client certificate's identity its endpoint (MICRO_AUTH=memory, rules below).
        let serving = MicroEnvironment(shared.merging(["MICRO_TLS_CERT_FILE": certs.serverCert, "MICRO_TLS_KEY_FILE": certs.serverKey,
                                                       "MICRO_TLS_CLIENT_CA_FILE": certs.ca, "MICRO_AUTH": "memory"]) { $1 })
        // Without MicroTLS's plugin the settings are refused rather than ignored.
        #expect(throws: ConfigurationError.self) { try MicroService(name: "secure", environment: serving) }
        let service = try MicroService(name: "secure", environment: serving, plugins: [.tls])
        let auth = try #require(service.auth)
        try await auth.grant(Rule(id: "client", scope: "x509:spiffe://micro/client",
                                  resource: Resource(type: "service", name: "secure", endpoint: "Secure.Who")))
        // A delivery carries no certificate identity to the subscriber (tokens do that): the topic is public here.
        try await auth.grant(Rule(id: "notes", scope: Rule.publicScope,
                                  resource: Resource(type: Resource.topic, name: "secure.notes", endpoint: Resource.publishEndpoint)))
        service.handle("Secure.Who") { (_: Note, context: HandlerContext) in Note(text: context.account?.id ?? "nobody") }
        let (notes, received) = AsyncStream<String>.makeStream()
        service.subscribe("secure.notes") { (note: Note, _) in received.yield(note.text) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { service.stop() }
            let deadline = ContinuousClock.now + .seconds(10)
            while (try? await service.registry.getService("secure"))?.first?.nodes.isEmpty ?? true, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            // `micro call` with the CA and the client certificate.
            let calling = MicroEnvironment(shared.merging(["MICRO_TLS_CERT_FILE": certs.clientCert, "MICRO_TLS_KEY_FILE": certs.clientKey]) { $1 })
            let who = try await withClient(environment: calling, plugins: [.tls]) { client in
                try await client.call("secure", "Secure.Who", Note(text: ""), as: Note.self)
            }
            #expect(who.text == "spiffe://micro/client")
            // The service's own client and HTTP broker publish over mutual TLS (its server certificate is its client certificate).
            try await service.client.publish("secure.notes", Note(text: "over tls"))
            var iterator = notes.makeAsyncIterator()
            #expect(await iterator.next() == "over tls")
            // The CA alone, no client certificate: the handshake refuses it.
            let anonymous = MicroEnvironment(shared)
            let refused = await caught {
                _ = try await withClient(environment: anonymous, plugins: [.tls], defaults: CallOptions(retries: 0)) { client in
                    try await client.call("secure", "Secure.Who", Note(text: ""), as: Note.self)
                }
            }
            #expect(refused != nil && (refused as? MicroError)?.code != 403, "\(String(describing: refused))")
            service.stop()
            try await group.waitForAll()
        }
    }
}

/// The error `body` throws, nil when it returns.
func caught(_ body: () async throws -> Void) async -> (any Error)? {
    do { try await body(); return nil } catch { return error }
}
