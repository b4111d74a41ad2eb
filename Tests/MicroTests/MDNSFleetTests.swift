import Foundation
import Micro
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// The greeter and the `micro` CLI as separate processes finding each other by mDNS
    /// (`MICRO_REGISTRY=mdns`), inside a network namespace that has only `lo`: multicast never leaves it.
    @Suite struct MDNSFleet {
        @Test func greeterIsFoundCalledAndGoneAfterSIGTERMOverMDNS() async throws {
            let namespace = try NetworkNamespace.create(prefix: "fleet")
            defer { namespace.delete() }
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let env = ["MICRO_REGISTRY": "mdns"]
            func inside(_ product: String) throws -> (URL, [String]) {
                let (ip, args) = try namespace.execArguments([try BuiltProducts.executable(product).path])
                return (URL(fileURLWithPath: ip), args)
            }
            let (ip, greeterArgs) = try inside("greeter")
            let greeter = try h.start(executable: ip, greeterArgs, environment: env, label: "greeter")
            let (_, microArgs) = try inside("micro")

            var listed = false
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline, !listed {
                let services = try await h.run(executable: ip, microArgs + ["services"], environment: env, label: "micro")
                listed = services.status == 0 && services.stdout.contains("greeter")
                if !listed { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(listed, "greeter never listed over mDNS: \(greeter.output)")

            let call = try await h.run(executable: ip, microArgs + ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: env, label: "micro")
            #expect(call.status == 0 && call.stdout == "{\"message\":\"Hello Alice\"}\n", "\(call)\n\(greeter.output)")

            let describe = try await h.run(executable: ip, microArgs + ["describe", "greeter"], environment: env, label: "micro")
            #expect(describe.status == 0 && describe.stdout.contains("Greeter.Countdown") && describe.stdout.contains("127.0.0.1:"), "\(describe)")

            // SIGTERM: the greeter deregisters (an mDNS goodbye) and exits 0; the CLI no longer finds it.
            greeter.signal(SIGTERM)
            #expect(await greeter.waitForExit(timeout: .seconds(20)), "greeter did not exit: \(greeter.output)")
            #expect(greeter.exitedNormally && greeter.terminationStatus == 0, "\(greeter.output)")
            let gone = try await h.run(executable: ip, microArgs + ["call", "greeter", "Greeter.Hello", #"{"name":"Bob"}"#], environment: env, label: "micro")
            #expect(gone.status != 0, "\(gone)")
        }
    }
}
