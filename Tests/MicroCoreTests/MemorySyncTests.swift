@testable import MicroCore
import SyncConformance
import Testing

@Suite struct MemorySyncTests {
    @Test(arguments: SyncCheck.all)
    func conformance(_ check: SyncCheck) async throws {
        try await SyncConformance(backend: "memory", make: { StoreSync.memory() }).run(check)
    }

    @Test func engineChosenByName() async throws {
        let engines = Engines([.inProcess])
        let sync = try engines.makeSync(EngineContext(environment: MicroEnvironment(["MICRO_SYNC": "memory"])))
        #expect(sync.name == "memory")
        let lease = try await sync.lock("job", ttl: .seconds(5))
        try await lease.release()
        await sync.shutdown()
        #expect(throws: ConfigurationError.self) { try engines.makeSync(EngineContext(environment: MicroEnvironment(["MICRO_SYNC": "nope"]))) }
    }

    @Test func renewalTiming() {
        let start = ContinuousClock.now
        var timing = LeaseRenewal(ttl: .seconds(3), start: start)
        #expect(timing.wake == start + .seconds(1))
        timing.failed(at: start + .seconds(1))
        #expect(timing.wake == start + .milliseconds(1250))
        timing.failed(at: start + .milliseconds(2900))
        #expect(timing.wake == start + .seconds(3), "a retry never goes past validity")
        #expect(timing.expired(at: start + .seconds(3)))
        timing.renewed(start: start + .milliseconds(2900))
        #expect(!timing.expired(at: start + .seconds(5)) && timing.expired(at: start + .milliseconds(5900)))
    }
}
