import MicroAddress
import MicroCore
@testable import MicroHTTP
import Testing

/// How the HTTP transport and broker read addresses: ``HostPort`` after an optional scheme, before
/// an optional path; a missing host is 127.0.0.1; anything else is a 400.
@Suite struct HTTPAddressTests {
    @Test func splitsAddresses() throws {
        #expect(try HostPort.transportAddress("127.0.0.1:8080") == HostPort(host: "127.0.0.1", port: 8080))
        #expect(try HostPort.transportAddress("[::1]:80") == HostPort(host: "::1", port: 80))
        #expect(try HostPort.transportAddress("http://example.com:8080/path?q=1") == HostPort(host: "example.com", port: 8080))
        #expect(try HostPort.transportAddress("nats://127.0.0.1:4222") == HostPort(host: "127.0.0.1", port: 4222))
        #expect(try HostPort.transportAddress(":9000") == HostPort(host: "127.0.0.1", port: 9000))
        #expect(try HostPort.transportAddress("host:0") == HostPort(host: "host", port: 0))
        #expect(try HostPort.transportAddress("localhost:1") == HostPort(host: "localhost", port: 1))
    }

    @Test func refusesWhatIsNotHostPort() {
        for bad in ["", "host", "host:", "host:http", "host:65536", "host:-1", "http://host/path", "http:/host:80", "::1:80"] {
            #expect(throws: MicroError.self, "\(bad)") { _ = try HostPort.transportAddress(bad) }
        }
    }
}
