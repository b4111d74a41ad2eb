import Foundation
import MicroCore
import MicroNATS
import MicroTestSupport
import Testing

extension NATSSuite {
    /// The `nats` engines made from `MICRO_*` over TLS and mutual TLS: a real nats-server with
    /// openssl-made certificates, the CA and client certificate given only by `MICRO_TLS_*`.
    @Suite struct NATSTLSSettingsTests {
        typealias K = NATSTestKit

        /// A registry and a broker made by the `nats` plugin from `settings`, both at `address`.
        func engines(_ address: String, _ settings: [String: String]) throws -> (any Registry, any Broker) {
            let environment = MicroEnvironment(settings.merging(["MICRO_REGISTRY": "nats", "MICRO_REGISTRY_ADDRESS": address,
                                                                 "MICRO_BROKER": "nats", "MICRO_BROKER_ADDRESS": address]) { $1 })
            let engines = Engines([.nats])
            var context = EngineContext(environment: environment, logger: K.logger)
            let registry = try engines.makeRegistry(context)
            context.registry = registry
            return (registry, try engines.makeBroker(context))
        }

        /// Registers, looks up, publishes and receives through the engines.
        func roundTrip(_ registry: any Registry, _ broker: any Broker) async throws {
            let node = Node(id: "tls-1", address: "127.0.0.1:1", metadata: ["protocol": "mucp"])
            try await registry.register(ServiceRecord(name: "tls-greeter", nodes: [node]))
            #expect(try await registry.getService("tls-greeter").first?.nodes.map(\.id) == ["tls-1"])
            let got = K.Box<[String]>([])
            let subscription = try await broker.subscribe("tls.topic", queue: nil) { event in
                got.update { $0.append(String(decoding: event.message.body, as: UTF8.self)) }
            }
            try await broker.publish("tls.topic", BrokerMessage(header: ["Micro-Topic": "tls.topic"], body: Array("sealed".utf8)))
            #expect(await K.eventually { got.value == ["sealed"] })
            try await subscription.unsubscribe()
        }

        @Test func tlsURLsUseTheCAOfTheSettings() async throws {
            let certs = try TestCertificates.make()
            defer { certs.remove() }
            let server = try await NATSServerProcess(arguments: ["--tls", "--tlscert", certs.serverCert, "--tlskey", certs.serverKey])
            let (registry, broker) = try engines("tls://127.0.0.1:\(server.port)", ["MICRO_TLS_CA_FILE": certs.ca])
            try await roundTrip(registry, broker)
            await broker.shutdown()
            await registry.shutdown()
            // A nats:// URL to a server that requires TLS uses the same settings.
            let (plainURL, _) = try engines("nats://127.0.0.1:\(server.port)", ["MICRO_TLS_CA_FILE": certs.ca])
            #expect(try await plainURL.getService("nobody").isEmpty)
            await plainURL.shutdown()
            // The other CA is not trusted: the connection is refused.
            let (untrusting, _) = try engines("tls://127.0.0.1:\(server.port)", ["MICRO_TLS_CA_FILE": certs.otherCA])
            await #expect(throws: (any Error).self) { _ = try await untrusting.getService("tls-greeter") }
            await untrusting.shutdown()
        }

        @Test func mutualTLSPresentsTheCertificateOfTheSettings() async throws {
            let certs = try TestCertificates.make()
            defer { certs.remove() }
            let server = try await NATSServerProcess(arguments: ["--tlsverify", "--tlscert", certs.serverCert, "--tlskey", certs.serverKey,
                                                                 "--tlscacert", certs.ca])
            let address = "tls://127.0.0.1:\(server.port)"
            let (registry, broker) = try engines(address, ["MICRO_TLS_CA_FILE": certs.ca, "MICRO_TLS_CERT_FILE": certs.clientCert,
                                                           "MICRO_TLS_KEY_FILE": certs.clientKey])
            try await roundTrip(registry, broker)
            await broker.shutdown()
            await registry.shutdown()
            // Without a client certificate, or with one from another CA, the server refuses the connection.
            for extra in [[:], ["MICRO_TLS_CERT_FILE": certs.strangerCert, "MICRO_TLS_KEY_FILE": certs.strangerKey]] {
                let (refused, _) = try engines(address, extra.merging(["MICRO_TLS_CA_FILE": certs.ca]) { $1 })
                await #expect(throws: (any Error).self) { _ = try await refused.getService("tls-greeter") }
                await refused.shutdown()
            }
            // A certificate file that cannot be read fails the engine's making, not a later call.
            #expect(throws: ConfigurationError.self) { _ = try engines(address, ["MICRO_TLS_CA_FILE": "/nonexistent/ca.pem"]) }
        }
    }
}
