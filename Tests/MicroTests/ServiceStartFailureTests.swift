import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// A service that cannot start (`MicroService.runMain`): one line on stderr naming the problem,
    /// exit status 1, no "Fatal error" and no backtrace, and nothing left registered.
    @Suite struct ServiceStartFailures {
        static let limit: Duration = .seconds(20)

        func expectOneLineStartFailure(_ r: CommandResult, mentioning texts: [String], in h: ProcessHarness,
                                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
            #expect(!r.crashed && !r.stdout.contains("Fatal error"), "\(r)", sourceLocation: sourceLocation)
            #expect(r.status == 1, "\(r)", sourceLocation: sourceLocation)
            #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("greeter: "), "\(r)", sourceLocation: sourceLocation)
            for text in texts { #expect(r.stderr.contains(text), "\(r)", sourceLocation: sourceLocation) }
            #expect(r.duration < Self.limit, "\(r)", sourceLocation: sourceLocation)
            #expect(try await registeredNodes("greeter", in: h.registryDirectory).isEmpty, sourceLocation: sourceLocation)
        }

        @Test func addressInUse() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let (fd, port) = try boundLoopbackSocket(listening: true)
            defer { close(fd) }
            let r = try await h.run("greeter", [], environment: ["MICRO_SERVER_ADDRESS": "127.0.0.1:\(port)"], timeout: Self.limit)
            try await expectOneLineStartFailure(r, mentioning: ["Address already in use"], in: h)
        }

        @Test func natsServerUnreachable() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let port = try unusedLoopbackPort()
            for env in [["MICRO_TRANSPORT": "nats", "MICRO_TRANSPORT_ADDRESS": "nats://127.0.0.1:\(port)"],
                        ["MICRO_BROKER": "nats", "MICRO_BROKER_ADDRESS": "nats://127.0.0.1:\(port)"]] {
                let r = try await h.run("greeter", [], environment: env, timeout: Self.limit)
                try await expectOneLineStartFailure(r, mentioning: ["127.0.0.1:\(port)"], in: h)
            }
        }

        @Test func unknownEngineName() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let r = try await h.run("greeter", [], environment: ["MICRO_TRANSPORT": "nosuch"], timeout: Self.limit)
            try await expectOneLineStartFailure(r, mentioning: ["nosuch"], in: h)
        }
    }
}
