import Foundation
import MicroNATS
import MicroTestSupport
@testable import NATSClient
import NIOCore
import NIOSSL
import Testing

private typealias Kit = NATSClientTestKit

extension NATSSuite {
    /// Credentials and TLS against a real nats-server.
    @Suite struct NATSClientSecurityTests {
        @Test func userAndPassword() async throws {
            let server = try await NATSServerProcess(arguments: ["--user", "alice", "--pass", "s3cret"])
            let connection = try await Kit.connect(server) {
                $0.user = "alice"
                $0.password = "s3cret"
            }
            #expect(connection.serverInfo.authRequired)
            let subscription = try connection.subscribe("auth.ok")
            try await connection.publish("auth.ok", payload: Kit.payload("in"))
            #expect(await Kit.collect(subscription, count: 1).count == 1)
            await connection.close()

            // Credentials in the URL.
            let byURL = try await NATSConnection.connect(NATSOptions(servers: ["nats://alice:s3cret@127.0.0.1:\(server.port)"]))
            try await byURL.flush()
            await byURL.close()

            // A wrong password fails at once: no reconnect loop on the first connect.
            let start = ContinuousClock.now
            let error = await #expect(throws: NATSError.self) {
                _ = try await Kit.connect(server) {
                    $0.user = "alice"
                    $0.password = "wrong"
                }
            }
            #expect(error?.code == .authorizationViolation)
            #expect(ContinuousClock.now - start < .seconds(2))
            let none = await #expect(throws: NATSError.self) { _ = try await Kit.connect(server) }
            #expect(none?.code == .authorizationViolation)
        }

        @Test func token() async throws {
            let server = try await NATSServerProcess(arguments: ["--auth", "t0ken"])
            let connection = try await Kit.connect(server) { $0.token = "t0ken" }
            try await connection.flush()
            await connection.close()
            let byURL = try await NATSConnection.connect(NATSOptions(servers: ["nats://t0ken@127.0.0.1:\(server.port)"]))
            try await byURL.flush()
            await byURL.close()
            let error = await #expect(throws: NATSError.self) { _ = try await Kit.connect(server) { $0.token = "nope" } }
            #expect(error?.code == .authorizationViolation)
        }

        @Test func tls() async throws {
            let certificates = try TestCertificates.make()
            defer { certificates.remove() }
            let server = try await NATSServerProcess(arguments: ["--tls", "--tlscert", certificates.serverCert, "--tlskey", certificates.serverKey])
            let connection = try await Kit.connect(server) { $0.tls = try? certificates.clientTLS(withClientCertificate: false) }
            #expect(connection.serverInfo.tlsRequired)
            let subscription = try connection.subscribe("secure.>")
            var headers = NATSHeaders()
            headers["Over"] = "TLS"
            try await connection.publish("secure.hello", payload: Kit.payload("encrypted"), headers: headers)
            let messages = await Kit.collect(subscription, count: 1)
            #expect(messages.first.map { String(buffer: $0.payload) } == "encrypted")
            #expect(messages.first?.headers?["over"] == "TLS")
            let answer = try? await connection.request("nobody", payload: Kit.payload("?"), timeout: .seconds(1))
            #expect(answer == nil)
            await connection.close()

            // tls:// with the same trust, and a client that does not trust the CA.
            var byScheme = NATSOptions(servers: ["tls://127.0.0.1:\(server.port)"])
            byScheme.tls = try certificates.clientTLS(withClientCertificate: false)
            let second = try await NATSConnection.connect(byScheme)
            try await second.flush()
            await second.close()
            let untrusted = await #expect(throws: NATSError.self) { _ = try await Kit.connect(server) }
            #expect(untrusted?.code == .connectFailed)
        }

        @Test func mutualTLS() async throws {
            let certificates = try TestCertificates.make()
            defer { certificates.remove() }
            let server = try await NATSServerProcess(arguments: [
                "--tlsverify", "--tlscert", certificates.serverCert, "--tlskey", certificates.serverKey,
                "--tlscacert", certificates.ca,
            ])
            let connection = try await Kit.connect(server) { $0.tls = try? certificates.clientTLS(withClientCertificate: true) }
            #expect(connection.serverInfo.tlsVerify)
            let subscription = try connection.subscribe("mtls")
            try await connection.publish("mtls", payload: Kit.payload("both sides"))
            #expect(await Kit.collect(subscription, count: 1).count == 1)
            await connection.close()
            let anonymous = await #expect(throws: NATSError.self) {
                _ = try await Kit.connect(server) { $0.tls = try? certificates.clientTLS(withClientCertificate: false) }
            }
            #expect(anonymous?.code == .connectFailed)
        }
    }
}
