import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// Writing to a stdout that fails: the reader went away (EPIPE) or the disk is full (ENOSPC).
    /// Foundation's `FileHandle.write(_:)` traps on both; the CLI and the greeter must not.
    @Suite struct OutputFailures {
        static let limit: Duration = .seconds(15)

        @Test func cliEndsQuietlyWhenTheReaderIsGone() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            _ = try h.start("greeter")
            try await waitForNodes("greeter", in: h.registryDirectory)
            for args in [["stream", "greeter", "Greeter.Countdown", #"{"from":10000}"#],
                         ["call", "greeter", "Greeter.Hello", #"{"name":"a"}"#],
                         ["services"],   // opens no socket before it writes: SIGPIPE must be ignored by the CLI itself
                         ["describe", "greeter"]] {
                let r = try await h.run("micro", args, timeout: Self.limit, output: .readerGone)
                #expect(!r.crashed, "\(r)")
                #expect(r.status == 0, "EPIPE ends the command quietly with 0: \(r)")
                #expect(r.stderr.isEmpty, "\(r)")
            }
        }

        @Test func streamIntoHeadStopsAfterTheFirstLine() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            _ = try h.start("greeter")
            try await waitForNodes("greeter", in: h.registryDirectory)
            // 10,000 lines are more than a pipe holds, so the stream is still writing when head exits.
            let script = #"set +o pipefail; "$0" stream --timeout 10 greeter Greeter.Countdown '{"from":10000}' 2>stream.err | head -1; echo "micro=${PIPESTATUS[0]}"; cat stream.err"#
            let r = try await h.run(executable: URL(fileURLWithPath: "/bin/bash"), ["-c", script, try BuiltProducts.executable("micro").path],
                                    timeout: Self.limit, label: "bash")
            #expect(r.status == 0 && r.stdout == "{\"n\":9999}\nmicro=0\n", "\(r)")
        }

        @Test func cliReportsAFullDiskInOneLine() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            _ = try h.start("greeter")
            try await waitForNodes("greeter", in: h.registryDirectory)
            for args in [["call", "greeter", "Greeter.Hello", #"{"name":"a"}"#],
                         ["stream", "greeter", "Greeter.Countdown", #"{"from":3}"#],
                         ["services"]] {
                let r = try await h.run("micro", args, timeout: Self.limit, output: .file("/dev/full"))
                #expect(!r.crashed, "\(r)")
                #expect(r.status == 1, "\(r)")
                #expect(r.stderrLines.count == 1, "\(r)")
                #expect(r.stderr.contains("cannot write to standard output: No space left on device"), "\(r)")
            }
        }

        @Test func greeterKeepsServingWhenItsStdoutIsGone() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            // stdout is a pipe nobody reads; stderr is the log.
            let greeter = try h.start("greeter", outputReaderGone: true)
            try await waitForNodes("greeter", in: h.registryDirectory)
            for i in 0..<3 {
                let publish = try await h.run("micro", ["publish", "greetings", #"{"text":"hi \#(i)"}"#], timeout: Self.limit)
                #expect(publish.status == 0, "\(publish)")
            }
            // The subscriber ran (and failed to print) before this call; the service still answers it.
            try await Task.sleep(for: .milliseconds(300))
            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], timeout: Self.limit)
            #expect(call.status == 0 && call.stdout == "{\"message\":\"Hello Alice\"}\n", "\(call)")
            #expect(greeter.isRunning, "greeter ended: \(greeter.output)")
            greeter.signal(SIGTERM)
            #expect(await greeter.waitForExit(timeout: .seconds(15)))
            #expect(greeter.exitedNormally && greeter.terminationStatus == 0, "status \(greeter.terminationStatus): \(greeter.output)")
            #expect(!greeter.output.contains("Fatal error"), "\(greeter.output)")
        }
    }
}
