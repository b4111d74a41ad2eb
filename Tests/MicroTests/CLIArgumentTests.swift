import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// What the CLI takes in: option values out of range, large or malformed messages, and a
    /// registry directory full of junk.
    @Suite struct CLIArguments {
        /// As long as each command may take (the CLI's own call timeout is 5 s).
        static var limit: Duration { OutputFailures.limit }

        @Test func outOfRangeSecondsAreUsageErrors() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let call = ["call", "greeter", "Greeter.Hello", "{}"]
            var cases: [[String]] = ["1e20", "nan", "inf", "0", "31536001"].map { call + ["--timeout", $0] }
            cases += [call + ["--timeout=-1"], call + ["--timeout=-inf"], ["--timeout", "1e20", "services"], ["subscribe", "greetings", "--duration", "1e20"],
                      ["subscribe", "greetings", "--duration", "nan"]]
            for args in cases {
                let r = try await h.run("micro", args, timeout: Self.limit)
                #expect(!r.crashed, "\(r)")
                #expect(r.status == 64, "a usage error (EX_USAGE): \(r)")
                #expect(r.stderr.contains("must be a number of seconds greater than 0 and at most 31536000"), "\(r)")
                #expect(r.stdout.isEmpty, "\(r)")
            }
            // The bound itself is accepted (here the call then finds no service).
            let r = try await h.run("micro", call + ["--timeout", "31536000"], timeout: Self.limit)
            #expect(r.status == 1 && r.stderr.contains("404"), "\(r)")
        }

        @Test func invalidJSONIsQuotedShort() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let junk = String(repeating: "x", count: 120_000)
            for args in [["call", "greeter", "Greeter.Hello", junk], ["publish", "greetings", junk]] {
                let r = try await h.run("micro", args, timeout: Self.limit)
                #expect(r.status == 1 && r.stderrLines.count == 1, "\(r.status) \(r.stderr.prefix(300))")
                #expect(r.stderr.count < 400, "\(r.stderr.prefix(300))")
                #expect(r.stderr.contains("not valid JSON: \(String(repeating: "x", count: 100))… (120000 bytes)"), "\(r.stderr.prefix(300))")
            }
        }

        @Test func messagesFromStdinAndFiles() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            _ = try h.start("greeter")
            try await waitForNodes("greeter", in: h.registryDirectory)
            // Larger than one argument may be (128 KiB on Linux).
            let name = String(repeating: "n", count: 300_000)
            let request = h.home.appendingPathComponent("request.json")
            try Data(#"{"name":"\#(name)"}"#.utf8).write(to: request)
            for (args, input) in [(["call", "greeter", "Greeter.Hello", "@\(request.path)"], nil as URL?),
                                  (["call", "greeter", "Greeter.Hello", "-"], request)] {
                let r = try await h.run("micro", args, timeout: Self.limit, input: input)
                #expect(r.status == 0 && r.stdout == "{\"message\":\"Hello \(name)\"}\n", "\(args.last!): \(r.status) \(r.stderr)")
            }

            let subscriber = try h.start("micro", ["subscribe", "big", "--count", "3", "--duration", "30"], label: "subscriber")
            try await waitForNodes("micro.http.broker", in: h.registryDirectory)
            let text = String(repeating: "t", count: 1_000_000)
            let message = h.home.appendingPathComponent("message.json")
            try Data(#"{"text":"\#(text)"}"#.utf8).write(to: message)
            for (args, input) in [(["publish", "big", "@\(message.path)"], nil as URL?), (["publish", "big", "-"], message), (["publish", "big"], message)] {
                let r = try await h.run("micro", args, timeout: Self.limit, input: input)
                #expect(r.status == 0 && r.stdout == "published to big\n", "\(args): \(r.status) \(r.stderr)")
            }
            #expect(await subscriber.waitForExit(timeout: .seconds(10)), "three messages end the subscriber")
            let lines = subscriber.output.split(separator: "\n").filter { $0.hasPrefix(#"{"text":"#) }
            #expect(lines.count == 3 && lines.allSatisfy { $0.utf8.count == message.fileSize }, "\(lines.map(\.utf8.count))")

            // Beyond the transport's limit, and unreadable paths: one line each, before any call.
            let huge = h.home.appendingPathComponent("huge.json")
            try Data(#"{"text":"\#(String(repeating: "h", count: 5 * 1024 * 1024))"}"#.utf8).write(to: huge)
            for (args, input, text) in [(["publish", "big", "@\(huge.path)"], nil as URL?, "larger than 4194304 bytes (the transport's maxMessageSize)"),
                                        (["call", "greeter", "Greeter.Hello", "-"], huge, "larger than 4194304 bytes"),
                                        (["publish", "big", "@\(h.home.path)/missing.json"], nil, "cannot read \(h.home.path)/missing.json: No such file"),
                                        (["publish", "big", "@\(h.home.path)"], nil, "Is a directory")] {
                let r = try await h.run("micro", args, timeout: Self.limit, input: input)
                #expect(r.status == 1 && r.stderrLines.count == 1 && r.stderr.contains(text), "\(args): \(r)")
            }
        }

        @Test func junkInTheRegistryIsOneWarning() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let junk = h.registryDirectory + "/junk"
            try FileManager.default.createDirectory(atPath: junk, withIntermediateDirectories: true)
            for i in 0..<2_000 { try Data("not a record".utf8).write(to: URL(fileURLWithPath: "\(junk)/junk-\(i).json")) }
            let r = try await h.run("micro", ["services"], timeout: Self.limit)
            #expect(r.status == 0 && r.stdout.isEmpty, "\(r)")
            #expect(r.stderrLines.count == 1, "\(r.stderrLines.count) lines: \(r.stderr.prefix(500))")
            #expect(r.stderr.contains("skipped 2000 unreadable registry files in \(h.registryDirectory)"), "\(r.stderr.prefix(500))")
        }
    }
}

private extension URL {
    var fileSize: Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1 }
}
