import MicroCore
import MicroHTTP
import Testing

@Suite struct HostPortTests {
    @Test func splitsAddresses() throws {
        #expect(try HostPort.parse("127.0.0.1:8080") == ("127.0.0.1", 8080))
        #expect(try HostPort.parse("[::1]:80") == ("::1", 80))
        #expect(try HostPort.parse("http://example.com:8080/path?q=1") == ("example.com", 8080))
        #expect(try HostPort.parse("nats://127.0.0.1:4222") == ("127.0.0.1", 4222))
        #expect(try HostPort.parse(":9000") == ("127.0.0.1", 9000))
        #expect(try HostPort.parse("host:0") == ("host", 0))
    }

    @Test func refusesWhatIsNotHostPort() {
        for bad in ["", "host", "host:", "host:http", "host:65536", "host:-1", "http://host/path", "http:/host:80"] {
            #expect(throws: MicroError.self, "\(bad)") { _ = try HostPort.parse(bad) }
        }
    }
}
