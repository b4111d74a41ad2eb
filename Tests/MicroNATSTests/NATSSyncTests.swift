import MicroCore
import MicroNATS
import MicroTestSupport
import NATSClient
import SyncConformance
import Testing

extension NATSSuite {
    /// The sync contract on ``StoreSync`` over NATS JetStream key-value (`MICRO_SYNC=nats`): acquire is a
    /// create with expected last sequence 0, renew an update with the expected revision, the revision the token.
    @Suite struct NATSSyncTests {
        @Test(arguments: SyncCheck.all) func conformance(_ check: SyncCheck) async throws {
            let server = try await NATSServerProcess.sharedJetStream()
            try await SyncConformance(backend: "nats") {
                StoreSync(store: NATSStore(options: NATSOptions(servers: [server.url]), logger: NATSTestKit.logger), ownsStore: true)
            }.run(check)
        }
    }
}
