import MicroAddress
import Testing

@Suite struct HostPortTests {
    @Test func parsesHostAndPort() throws {
        #expect(try HostPort(parsing: "127.0.0.1:8080") == HostPort(host: "127.0.0.1", port: 8080))
        #expect(try HostPort(parsing: "example.com:80") == HostPort(host: "example.com", port: 80))
        #expect(try HostPort(parsing: "etcd_0.svc-1:2379") == HostPort(host: "etcd_0.svc-1", port: 2379))
        #expect(try HostPort(parsing: "host:0") == HostPort(host: "host", port: 0))
        #expect(try HostPort(parsing: "host:65535") == HostPort(host: "host", port: 65535))
        #expect(try HostPort(parsing: "host:00080") == HostPort(host: "host", port: 80))
        #expect(try HostPort(parsing: "  host:1 \t") == HostPort(host: "host", port: 1))
    }

    @Test func parsesBracketedIPv6() throws {
        #expect(try HostPort(parsing: "[::1]:80") == HostPort(host: "::1", port: 80))
        #expect(try HostPort(parsing: "[fe80::1%eth0]:9") == HostPort(host: "fe80::1%eth0", port: 9))
        #expect(try HostPort(parsing: "[::ffff:10.0.0.1]:7") == HostPort(host: "::ffff:10.0.0.1", port: 7))
        #expect(try HostPort(parsing: "[::1]", defaultPort: 2379) == HostPort(host: "::1", port: 2379))
    }

    @Test func localhostIsKeptAsWritten() throws {
        #expect(try HostPort(parsing: "localhost:7000").host == "localhost")
        #expect(try HostPort(parsing: "localhost", defaultPort: 1, defaultHost: HostPort.loopback).host == "localhost")
    }

    @Test func defaultsFillOnlyWhatIsMissing() throws {
        #expect(try HostPort(parsing: "etcd-0", defaultPort: 2379) == HostPort(host: "etcd-0", port: 2379))
        #expect(try HostPort(parsing: "etcd-0:1", defaultPort: 2379) == HostPort(host: "etcd-0", port: 1))
        #expect(try HostPort(parsing: ":9000", defaultHost: HostPort.loopback) == HostPort(host: "127.0.0.1", port: 9000))
        #expect(try HostPort(parsing: "a:9000", defaultHost: HostPort.loopback) == HostPort(host: "a", port: 9000))
    }

    @Test func aBarePortIsAPortWithoutAHost() throws {
        #expect(try HostPort(parsing: "7946", defaultPort: 1, defaultHost: HostPort.loopback) == HostPort(host: "127.0.0.1", port: 7946))
        #expect(try HostPort(parsing: "0", defaultHost: "") == HostPort(host: "", port: 0))
        #expect(throws: HostPortError(.missingHost, input: "8080")) { try HostPort(parsing: "8080", defaultPort: 1) }
        #expect(throws: HostPortError(.portOutOfRange, input: "99999")) { try HostPort(parsing: "99999", defaultHost: "h") }
    }

    @Test func joinsAsGoDoes() {
        #expect(HostPort(host: "127.0.0.1", port: 80).description == "127.0.0.1:80")
        #expect(HostPort(host: "::1", port: 5).description == "[::1]:5")
        #expect(HostPort(host: "fe80::1%eth0", port: 5).description == "[fe80::1%eth0]:5")
        #expect(HostPort(host: "", port: 80).description == ":80")
    }

    @Test func roundTrips() throws {
        for text in ["127.0.0.1:80", "[::1]:443", "a.b.c:0", "[fe80::1%lo]:65535"] {
            #expect(try HostPort(parsing: text).description == text)
        }
    }

    @Test(arguments: [
        ("", HostPortError.Reason.empty),
        ("   ", .empty),
        ("host", .missingPort),
        ("[::1]", .missingPort),
        (":80", .missingHost),
        ("80", .missingHost),
        ("host:", .invalidPort),
        ("host:http", .invalidPort),
        ("host:-1", .invalidPort),
        ("host:+1", .invalidPort),
        ("host:1 2", .invalidPort),
        ("host:65536", .portOutOfRange),
        ("host:99999999999999999999999", .portOutOfRange),
        ("::1", .invalidHost),
        ("::1:80", .invalidHost),
        ("a:b:c", .invalidHost),
        ("[::1", .invalidHost),
        ("[]:80", .invalidHost),
        ("[host]:80", .invalidHost),
        ("[1.2.3.4]:80", .invalidHost),
        ("[fe80::1%]:80", .invalidHost),
        ("[::1]x", .invalidPort),
        ("[::1]:", .invalidPort),
        ("[::1]]:80", .invalidPort),
        ("ho st:80", .invalidHost),
        ("user@host:80", .invalidHost),
        ("http://host:80", .invalidHost),
        ("host/path:80", .invalidHost),
        ("hôst:80", .invalidHost),
        ("*:80", .invalidHost),
        ("\u{0}:80", .invalidHost),
    ])
    func refusesMalformedText(text: String, reason: HostPortError.Reason) {
        #expect(throws: HostPortError(reason, input: text), "\(text.debugDescription)") { try HostPort(parsing: text) }
    }

    @Test func boundsTheLength() throws {
        let long = String(repeating: "a", count: HostPort.maxLength) + ":1"
        #expect(throws: HostPortError(.tooLong, input: long)) { try HostPort(parsing: long) }
        let fits = String(repeating: "a", count: HostPort.maxLength - 2) + ":1"
        #expect(try HostPort(parsing: fits).port == 1)
        let error = HostPortError(.tooLong, input: long)
        #expect(error.description.count < 200)
    }

    @Test func splitsASchemeAndPath() {
        #expect(HostPort.splitScheme("http://example.com:8080/path?q=1") == ("http", "example.com:8080"))
        #expect(HostPort.splitScheme("NATS://u:p@h:4222") == ("nats", "u:p@h:4222"))
        #expect(HostPort.splitScheme("h:80") == (nil, "h:80"))
        #expect(HostPort.splitScheme("[::1]:80") == (nil, "[::1]:80"))
        #expect(HostPort.splitScheme("h:80/x") == (nil, "h:80"))
        #expect(HostPort.splitScheme("http:/h:80") == (nil, "http:"))
        #expect(HostPort.splitScheme("1x://h:80") == (nil, "1x:"))
    }

    @Test func errorsNameReasonAndInput() {
        let error = HostPortError(.missingPort, input: "host")
        #expect(error.description == #""host" is not host:port: missing port"#)
    }
}
