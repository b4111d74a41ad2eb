import Foundation
import Micro
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// The greeter's greeting comes from configuration and changes live: `micro config set` writes it
    /// to etcd, and the next call shows it without a restart; an invalid greeting is refused.
    @Suite struct GreeterConfig {
        @Test func microConfigSetChangesTheGreetingLive() async throws {
            let etcd = try await EtcdProcess()
            defer { etcd.stop() }
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let config = ["MICRO_CONFIG": "etcd", "MICRO_CONFIG_ADDRESS": etcd.addressList]
            let greeter = try h.start("greeter", environment: config)
            _ = try await waitForNodes("greeter", in: h.registryDirectory)

            let first = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#])
            #expect(first.status == 0 && first.stdout == "{\"message\":\"Hello Alice\"}\n", "\(first)")

            let set = try await h.run("micro", ["config", "set", "greeter", #"{"greeting":"Howdy"}"#], environment: config)
            #expect(set.status == 0, "\(set)")
            let get = try await h.run("micro", ["config", "get", "greeter.greeting"], environment: config)
            #expect(get.status == 0 && get.stdout == "\"Howdy\"\n", "\(get)")
            var reply = ""
            for _ in 0..<100 {
                reply = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#]).stdout
                if reply.contains("Howdy") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(reply == "{\"message\":\"Howdy Alice\"}\n")

            // Too long for the greeter's validation: refused, the last good greeting stays.
            let long = String(repeating: "x", count: 101)
            let bad = try await h.run("micro", ["config", "set", "greeter", #"{"greeting":"\#(long)"}"#], environment: config)
            #expect(bad.status == 0, "\(bad)")
            let refused = await greeter.waitForOutput(containing: "refused the config section 'greeter'", timeout: .seconds(10))
            #expect(refused, "\(greeter.output)")
            let after = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Bob"}"#])
            #expect(after.stdout == "{\"message\":\"Howdy Bob\"}\n", "\(after)")

            // Malformed JSON never reaches etcd; a path with odd characters is a usage error.
            let malformed = try await h.run("micro", ["config", "set", "greeter", #"{"greeting":"#], environment: config)
            #expect(malformed.status == 1 && malformed.stderr.contains("invalidDocument"), "\(malformed)")
            let odd = try await h.run("micro", ["config", "get", "greeter/greeting"], environment: config)
            #expect(odd.status == 1 && odd.stderr.contains("invalidPath"), "\(odd)")
            let deleted = try await h.run("micro", ["config", "delete", "greeter"], environment: config)
            #expect(deleted.status == 0, "\(deleted)")
            let gone = try await h.run("micro", ["config", "get", "greeter"], environment: config)
            #expect(gone.status == 1 && gone.stderr.contains("notFound"), "\(gone)")
            #expect(greeter.isRunning, "greeter died: \(greeter.output)")
        }
    }
}

extension IntegrationTests {
    /// `micro config` against NATS JetStream key-value: set, get, watch (a second process sees the
    /// change), delete.
    @Suite struct ConfigCLI {
        @Test func setGetWatchDeleteOnNATS() async throws {
            let server = try await NATSServerProcess(jetStream: true)
            defer { server.stop() }
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let config = ["MICRO_CONFIG": "nats", "MICRO_CONFIG_ADDRESS": server.url]
            let set = try await h.run("micro", ["config", "set", "", #"{"greeter":{"greeting":"Hi"},"n":1}"#], environment: config)
            #expect(set.status == 0, "\(set)")
            let watcher = try h.start("micro", ["config", "watch", "greeter.greeting", "--count", "2"], environment: config)
            #expect(await watcher.waitForOutput(containing: "\"Hi\"\n", timeout: .seconds(10)), "\(watcher.output)")
            let nested = try await h.run("micro", ["config", "set", "greeter", #"{"greeting":"Hola"}"#], environment: config)
            #expect(nested.status == 0, "\(nested)")
            #expect(await watcher.waitForOutput(containing: "\"Hola\"\n", timeout: .seconds(10)), "\(watcher.output)")
            #expect(await watcher.waitForExit(timeout: .seconds(10)), "--count 2 ends the watch: \(watcher.output)")
            let get = try await h.run("micro", ["config", "get", "greeter"], environment: config)
            #expect(get.stdout == "{\"greeting\":\"Hola\"}\n", "\(get)")
            let root = try await h.run("micro", ["config", "get", "n"], environment: config)
            #expect(root.stdout == "1\n", "\(root)")
            let deleted = try await h.run("micro", ["config", "delete", "greeter"], environment: config)
            #expect(deleted.status == 0, "\(deleted)")
            let back = try await h.run("micro", ["config", "get", "greeter.greeting"], environment: config)
            #expect(back.stdout == "\"Hi\"\n", "\(back)")
            let none = try await h.run("micro", ["config", "get", "greeter"], environment: [:])
            #expect(none.status != 0 && none.stderr.contains("MICRO_CONFIG"), "\(none)")
        }
    }
}
