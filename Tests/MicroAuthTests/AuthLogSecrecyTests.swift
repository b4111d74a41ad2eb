import Foundation
import InMemoryLogging
import Logging
import Micro
import MicroAuth
import MicroCore
import ServiceLifecycle
import Testing

/// Secrets and tokens never reach a log: a secured service is driven through good and bad calls and a
/// failing token refresh with every log at trace level, and the captured log is searched for them.
@Suite("Auth log secrecy")
struct AuthLogSecrecyTests {
    @Test func noSecretOrTokenAppearsInTheCapturedLog() async throws {
        let logs = InMemoryLogHandler()
        let logger = { () -> Logger in
            var logger = Logger(label: "test.auth") { _ in logs }
            logger.logLevel = .trace
            return logger
        }()
        let greeter = try await SecuredGreeter.make()
        let registry = MemoryRegistry()
        let service = try greeter.service([:], registry: registry, logger: logger)
        let refresherCredentials = ServiceCredentials()
        try await greeter.running(service) {
            let client = plainClient(registry)
            for authorization in [BearerToken.value(greeter.alice.accessToken), BearerToken.value(greeter.bob.accessToken),
                                  BearerToken.value(greeter.alice.refreshToken), "Bearer " + greeter.alice.accessToken + "x", nil] {
                _ = await client.hello(authorization: authorization)
                _ = await client.hello("Greeter.Bye", authorization: authorization)
            }
            await client.shutdown()
            // A refresher with a wrong secret logs its failures.
            let refresher = ServiceTokenRefresher(auth: greeter.auth, id: "alice", secret: "wrong-alice-secret",
                                                  credentials: refresherCredentials, logger: logger)
            refresherCredentials.update(AuthToken(accessToken: greeter.alice.accessToken, refreshToken: "bogus-refresh-token-value",
                                                  created: Date() - 10, expiry: Date()))
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: refresher)], logger: Logger(label: "test")))
            let task = Task { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(3)
            while !logs.entries.contains(where: { $0.level == .warning }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            task.cancel()
            _ = await task.result
        }
        let text = logs.entries.map { "\($0.message) \($0.metadata) \($0.error.map { "\($0)" } ?? "")" }.joined(separator: "\n")
        #expect(logs.entries.contains { $0.level == .warning }, "the refresher's failure was logged")
        #expect(!text.isEmpty)
        for secret in ["alice-secret", "bob-secret", "wrong-alice-secret", "bogus-refresh-token-value",
                       greeter.alice.accessToken, greeter.bob.accessToken, greeter.alice.refreshToken, greeter.bob.refreshToken] {
            #expect(!text.contains(secret), "a secret or token reached the log")
        }
        // Not even a token's signature (its last part) is logged.
        #expect(!text.contains(greeter.alice.accessToken.split(separator: ".").last.map(String.init) ?? "-"))
    }
}
