import Foundation
import MicroCore
import MicroHTTP
import MicroTestSupport
import NIOCore
import Testing

extension HTTPTransportSuite {
    /// A client nobody here wrote: curl calls the server and its health probes.
    @Suite struct HTTPCurlInteropTests {
        @Test func curlCallsAnEndpoint() async throws {
            let server = try await TestServer.start()
            let result = try await curl(["-s", "-H", "Micro-Endpoint: Test.Hello", "-H", "Content-Type: application/json",
                                         "-d", "{\"name\":\"a\"}", "http://\(server.address)/"])
            if let result {
                #expect(result.status == 0, "curl failed: \(result.stderr)")
                #expect(result.stdout == "{\"message\":\"Hello a\"}")
            }
            await server.stop()
        }

        /// curl routing by path is a plain HTTP caller: the error's status; with go-micro's headers it
        /// is answered as go-micro answers (200 and `Micro-Error`).
        @Test(arguments: [true, false])
        func curlSeesTheMicroErrorHeaderAndStatus(_ mucp: Bool) async throws {
            let server = try await TestServer.start()
            let result = try await curl(["-s", "-i", "-H", "Content-Type: application/json"]
                + (mucp ? ["-H", "Micro-Endpoint: Test.Missing", "-d", "{}", "http://\(server.address)/"] : ["-d", "{}", "http://\(server.address)/Test/Missing"]))
            if let result {
                let lines = result.stdout.components(separatedBy: "\r\n")
                #expect(lines.first?.hasPrefix(mucp ? "HTTP/1.1 200" : "HTTP/1.1 404") == true, "got \(lines.first ?? "")")
                let header = lines.first { $0.lowercased().hasPrefix("micro-error:") }
                let e = MicroError.parse(String(try #require(header).dropFirst("micro-error:".count)).trimmingCharacters(in: .whitespaces))
                #expect(e.code == 404)
                #expect(e.detail.contains("Test.Missing"))
            }
            await server.stop()
        }

        @Test func curlKeepsAliveAcrossRequests() async throws {
            let server = try await TestServer.start()
            let url = "http://\(server.address)/"
            // Two requests on one curl command line share the connection.
            let result = try await curl(["-s", "-H", "Micro-Endpoint: Test.Hello", "-H", "Content-Type: application/json",
                                         "-d", "{\"name\":\"a\"}", url, url])
            if let result {
                #expect(result.stdout == "{\"message\":\"Hello a\"}{\"message\":\"Hello a\"}")
            }
            await server.stop()
        }

        @Test(arguments: ["/health", "/health/live", "/health/ready"])
        func healthProbesAnswerOK(_ path: String) async throws {
            let server = try await TestServer.start()
            let result = try await curl(["-s", "-w", "\n%{http_code}", "http://\(server.address)\(path)"])
            if let result {
                #expect(result.stdout == "{\"status\":\"ok\"}\n200", "got \(result.stdout)")
            }
            await server.stop()
        }

        @Test func notServingMakesReadinessFail() async throws {
            let server = try await TestServer.start { router in router.setHealthCheck { .notServing } }
            for (path, expected) in [("/health/ready", "503"), ("/health", "503"), ("/health/live", "200")] {
                let result = try await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(server.address)\(path)"])
                guard let result else { break }
                #expect(result.stdout == expected, "\(path): \(result.stdout)")
            }
            let ready = try await curl(["-s", "http://\(server.address)/health/ready"])
            if let ready { #expect(ready.stdout == "{\"status\":\"not_serving\"}") }
            await server.stop()
        }

        @Test func headIsAnsweredWithoutABody() async throws {
            let server = try await TestServer.start()
            let result = try await curl(["-s", "-I", "http://\(server.address)/health"])
            if let result {
                #expect(result.stdout.hasPrefix("HTTP/1.1 200"), "got \(result.stdout)")
            }
            await server.stop()
        }

        @Test func headSendsNoBodySoTheConnectionStaysInSync() async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("HEAD /health HTTP/1.1\r\nHost: a\r\n\r\nGET /health/live HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await eventually { raw.text.components(separatedBy: "HTTP/1.1 200").count == 3 })
            // After the HEAD answer's head comes the GET answer directly: no stray body in between.
            let text = raw.text
            let second = try #require(text.range(of: "HTTP/1.1 200", range: text.index(after: text.startIndex)..<text.endIndex))
            #expect(text[..<second.lowerBound].hasSuffix("\r\n\r\n"), "HEAD answer carried a body: \(text.debugDescription)")
            #expect(text.hasSuffix("{\"status\":\"ok\"}"))
            raw.close()
            await server.stop()
        }
    }
}
