import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// What the CLI does when something is wrong: one line on stderr, a non-zero exit, promptly.
    @Suite struct CLIFailures {
        /// Every failure here must end well within this (the CLI's own call timeout is 5 s).
        static let limit: Duration = .seconds(10)

        /// Checks the common shape of a failure and returns the `MicroError` JSON after `error: `, if any.
        @discardableResult
        func expectOneLineFailure(_ result: CommandResult, mentioning text: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any]? {
            #expect(result.exited && result.status != 0, "\(result)", sourceLocation: sourceLocation)
            #expect(result.stdout.isEmpty, "\(result)", sourceLocation: sourceLocation)
            #expect(result.stderrLines.count == 1, "\(result)", sourceLocation: sourceLocation)
            #expect(result.stderr.contains(text), "\(result)", sourceLocation: sourceLocation)
            #expect(result.duration < Self.limit, "\(result)", sourceLocation: sourceLocation)
            return result.microError
        }

        @Test func unknownServiceIs404() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let r = try await h.run("micro", ["call", "nosuch", "Nosuch.Call", "{}"], timeout: Self.limit)
            let error = expectOneLineFailure(r, mentioning: "nosuch")
            #expect(error?["code"] as? Int == 404, "\(r)")
        }

        @Test func unknownEndpointIs404NamingIt() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start("greeter")
            try await waitForNodes("greeter", in: h.registryDirectory)
            let r = try await h.run("micro", ["call", "greeter", "Greeter.Nope", "{}"], timeout: Self.limit)
            let error = expectOneLineFailure(r, mentioning: "Greeter.Nope")
            #expect(error?["code"] as? Int == 404, "\(r)")
            #expect((error?["detail"] as? String)?.contains("Greeter.Nope") == true, "\(r)")
            #expect(greeter.isRunning)
        }

        @Test func malformedJSONArgumentIsRejectedBeforeAnyCall() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            for args in [["call", "greeter", "Greeter.Hello", "{bad"],
                         ["publish", "greetings", "not json"],
                         ["stream", "greeter", "Greeter.Countdown", "{\"from\":"]] {
                let r = try await h.run("micro", args, timeout: Self.limit)
                #expect(r.exited && r.status != 0, "\(r)")
                #expect(r.stdout.isEmpty, "\(r)")
                #expect(r.stderrLines.first?.contains("not valid JSON") == true, "\(r)")
                #expect(r.duration < Self.limit, "\(r)")
                #expect(r.stderrLines.count == 1, "\(r)")
            }
        }

        @Test func unknownRegistryNameIsAConfigurationError() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            for args in [["services", "--registry", "nosuch"],
                         ["--registry", "nosuch", "services"],
                         ["call", "greeter", "Greeter.Hello", "{}", "--registry", "nosuch"]] {
                let r = try await h.run("micro", args, timeout: Self.limit)
                expectOneLineFailure(r, mentioning: "unknown registry 'nosuch'")
            }
            // The same through the environment.
            let r = try await h.run("micro", ["services"], environment: ["MICRO_REGISTRY": "nosuch"], timeout: Self.limit)
            expectOneLineFailure(r, mentioning: "unknown registry 'nosuch'")
        }

        @Test func registeredButUnreachableNodeIs503NotAHang() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            // A registration left behind by a process that is gone: nothing listens on its port.
            let port = try unusedLoopbackPort()
            try await LocalRegistry(directory: h.registryDirectory).register(
                ServiceRecord(name: "ghost", version: "1", nodes: [Node(id: "ghost-1", address: "127.0.0.1:\(port)")]),
                ttl: .seconds(60))
            let r = try await h.run("micro", ["call", "ghost", "Ghost.Hello", "{}"], timeout: Self.limit)
            let error = expectOneLineFailure(r, mentioning: "127.0.0.1:\(port)")
            #expect(error?["code"] as? Int == 503, "\(r)")
        }
    }
}

/// A loopback port nothing listens on (bound and closed again; nothing else here binds it meanwhile).
func unusedLoopbackPort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket(listening: false)
    close(fd)
    return port
}

/// A TCP socket bound to a free port of 127.0.0.1 (and listening, if asked): its descriptor, for the
/// caller to close, and its port.
func boundLoopbackSocket(listening: Bool) throws -> (descriptor: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, !listening || listen(fd, 1) == 0 else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return (fd, Int(UInt16(bigEndian: addr.sin_port)))
}
