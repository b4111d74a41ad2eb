import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// `micro logs`, `micro logs -f`, `micro stats` and `micro trace` against a greeter in another
    /// process: what its debug endpoints answer, as a user reads it.
    @Suite struct DebugCLI {
        @Test func logsStatsAndTraceOfARunningGreeter() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start("greeter")
            _ = try await waitForNodes("greeter", in: h.registryDirectory)

            // Follow the log from before the greeting is published: the record arrives over Debug.LogStream.
            let follower = try h.start("micro", ["logs", "greeter", "-f", "--level", "info"], label: "follow")
            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#])
            #expect(call.status == 0, "\(call)")
            let failed = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":""}"#])
            #expect(failed.status != 0, "\(failed)")
            // The follower may open its stream after a greeting: publish until one reaches it.
            var followed = false
            for attempt in 0..<10 where !followed {
                let publish = try await h.run("micro", ["publish", "greetings", #"{"text":"hi \#(attempt)"}"#])
                #expect(publish.status == 0, "\(publish)")
                followed = await follower.waitForOutput(containing: "greeting received: hi", timeout: .milliseconds(500))
            }
            #expect(followed, "micro logs -f printed:\n\(follower.output)")
            #expect(follower.output.contains(" INFO "), "\(follower.output)")
            follower.kill()

            let logs = try await h.run("micro", ["logs", "greeter", "--level", "info"])
            #expect(logs.status == 0, "\(logs)")
            #expect(logs.stdout.contains("greeting received: hi 0") && logs.stdout.contains("service=greeter"), "\(logs)")
            let warnings = try await h.run("micro", ["logs", "greeter", "--level", "error", "--json"])
            #expect(warnings.status == 0 && !warnings.stdout.contains("greeting received"), "\(warnings)")
            let badLevel = try await h.run("micro", ["logs", "greeter", "--level", "loud"])
            #expect(badLevel.status != 0 && badLevel.stderr.contains("loud"), "\(badLevel)")

            let stats = try await h.run("micro", ["stats", "greeter"])
            #expect(stats.status == 0, "\(stats)")
            #expect(stats.stdout.contains("Greeter.Hello requests=2 errors=1 inflight=0"), "\(stats)")
            #expect(stats.stdout.contains("threads=") && stats.stdout.contains("connections="), "\(stats)")

            // Recent traces, then one as a tree: the greeter's server span of Greeter.Hello.
            let traces = try await h.run("micro", ["trace", "greeter"])
            #expect(traces.status == 0, "\(traces)")
            let hello = traces.stdout.split(separator: "\n").filter { $0.contains(" Greeter.Hello ") }
            #expect(hello.count == 2, "\(traces)")
            #expect(hello.filter { $0.hasSuffix(" ERROR") }.count == 0, "a 400 is the caller's fault, not the span's: \(traces)")
            let traceID = String(try #require(hello.first?.split(separator: " ").first))
            let tree = try await h.run("micro", ["trace", "greeter", traceID])
            #expect(tree.status == 0, "\(tree)")
            let lines = tree.stdout.split(separator: "\n")
            #expect(lines.first.map(String.init) == "trace \(traceID)", "\(tree)")
            #expect(lines.contains { $0.hasPrefix("Greeter.Hello [greeter server] ") && $0.hasSuffix(" ms") }, "\(tree)")
            let unknown = try await h.run("micro", ["trace", "greeter", String(repeating: "ab", count: 16)])
            #expect(unknown.status != 0 && unknown.stderr.contains("no spans"), "\(unknown)")
            #expect(greeter.isRunning, "greeter died: \(greeter.output)")
        }
    }
}
