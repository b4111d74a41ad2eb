import Foundation
import Micro
import Testing

/// `MICRO_REGISTER_TTL` / `MICRO_REGISTER_INTERVAL` (go-micro's `--register_ttl`, `--register_interval`).
@Suite struct ServiceOptionsEnvironmentTests {
    func service(_ env: [String: String], _ options: ServiceOptions = ServiceOptions()) throws -> MicroService {
        try MicroService(name: "s", options: options, environment: MicroEnvironment(env), registry: MemoryRegistry(), broker: MemoryBroker())
    }

    @Test func defaultsAreGoMicros() throws {
        let s = try service([:])
        #expect(s.options.registerTTL == .seconds(90))
        #expect(s.options.registerInterval == .seconds(30))
    }

    @Test func variablesSetTTLAndInterval() throws {
        let s = try service(["MICRO_REGISTER_TTL": "2.5", "MICRO_REGISTER_INTERVAL": "0.5"])
        #expect(s.options.registerTTL == .milliseconds(2500))
        #expect(s.options.registerInterval == .milliseconds(500))
    }

    @Test func aShortTTLAloneShortensTheHeartbeat() throws {
        let s = try service(["MICRO_REGISTER_TTL": "3"])
        #expect(s.options.registerTTL == .seconds(3))
        #expect(s.options.registerInterval == .seconds(1))
    }

    @Test func codeWinsOverTheVariables() throws {
        let s = try service(["MICRO_REGISTER_TTL": "2", "MICRO_REGISTER_INTERVAL": "1"],
                            ServiceOptions(registerTTL: .seconds(60), registerInterval: .seconds(20)))
        #expect(s.options.registerTTL == .seconds(60))
        #expect(s.options.registerInterval == .seconds(20))
        var assigned = ServiceOptions()
        assigned.registerTTL = .seconds(40)
        let t = try service(["MICRO_REGISTER_TTL": "2"], assigned)
        #expect(t.options.registerTTL == .seconds(40))
        #expect(t.options.registerInterval == .seconds(30))
    }

    @Test(arguments: ["0", "-1", "abc", "nan", "inf", "1e12"])
    func badValuesAreConfigurationErrors(_ value: String) throws {
        #expect(throws: ConfigurationError.self) { try service(["MICRO_REGISTER_TTL": value]) }
        #expect(throws: ConfigurationError.self) { try service(["MICRO_REGISTER_INTERVAL": value]) }
    }
}
