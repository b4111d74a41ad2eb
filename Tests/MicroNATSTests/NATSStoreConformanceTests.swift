import MicroCore
import MicroNATS
import MicroTestSupport
import StoreConformance
import Testing

extension NATSSuite {
    /// The store contract on ``NATSStore`` against a real `nats-server -js`, shared by the checks: each
    /// check's scope is a bucket of its own.
    @Suite struct NATSStoreConformanceTests {
        static let suite = StoreConformance(backend: "nats") {
            let server = try await NATSServerProcess.sharedJetStream()
            return NATSStore(options: NATSOptions(servers: [server.url]), logger: NATSTestKit.logger)
        }

        @Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck) async throws {
            try await Self.suite.run(check)
        }
    }
}
