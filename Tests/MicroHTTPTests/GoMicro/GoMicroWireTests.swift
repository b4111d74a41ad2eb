import Foundation
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

extension HTTPTransportSuite {
    /// go-micro v2.9.1's HTTP transport, byte for byte: the bytes its client wrote are replayed to a
    /// Swift server, and the bytes its server wrote are played to a Swift client
    /// (``GoMicroCaptures``, captured between go-micro's own client and server).
    @Suite struct GoMicroWireTests {
        /// The go-micro peer's greeter, in Swift: the same endpoints, answers and errors.
        static func greeter(configuration: HTTPTransportConfiguration = HTTPTransportConfiguration(),
                            exits: Shared<[String]> = Shared([])) async throws -> TestServer {
            try await TestServer.start(configuration: configuration) { router in
                router.handle("Greeter.Hello") { (req: Hello, _: HandlerContext) -> Reply in
                    guard !req.name.isEmpty else { throw MicroError.badRequest("greeter", "name is empty") }
                    return Reply(message: "Hello \(req.name)")
                }
                router.handle("Greeter.Countdown") { (req: Count, stream: ServerStream<Tick>, _: HandlerContext) in
                    defer { exits.update { $0.append("countdown") } }
                    guard req.from >= 0 else { throw MicroError.badRequest("greeter", "from must be >= 0") }
                    if req.from > 10000 {
                        try await stream.send(Tick(n: req.from - 1))
                        throw MicroError.internalServerError("greeter", "boom")
                    }
                    for n in (0..<req.from).reversed() {
                        try await stream.send(Tick(n: n))
                        if req.from > 3 { try await Task.sleep(for: .milliseconds(50)) }
                    }
                }
                router.handleBidiStream("Greeter.Chat") { (requests: RequestStream<Text>, replies: ServerStream<Text>, _: HandlerContext) in
                    for try await r in requests {
                        if r.text == "boom" { throw MicroError.internalServerError("greeter", "boom") }
                        try await replies.send(Text(text: "echo: \(r.text)"))
                    }
                }
                router.handle("Greeter.Park") { (_: Count, stream: ServerStream<Tick>, _: HandlerContext) in
                    defer { exits.update { $0.append("park") } }
                    try await stream.send(Tick(n: 1))
                    try await Task.sleep(for: .seconds(30))
                }
            }
        }

        struct Text: Codable, Sendable, Equatable { var text: String }

        /// Reads whole responses off `raw` until `count` arrived (or `timeout` passed).
        static func responses(_ raw: RawConnection, count: Int, within timeout: Duration = .seconds(3)) async -> [RawResponse] {
            _ = await eventually(within: timeout) { RawResponse.parseAll(raw.received).count >= count }
            return RawResponse.parseAll(raw.received)
        }

        static func text(_ r: RawResponse) -> String { r.bodyText.trimmingCharacters(in: .newlines) }

        // MARK: A go-micro client's bytes to the Swift server

        @Test func unaryCallIsAnswered() async throws {
            let server = try await Self.greeter()
            let raw = try await RawConnection.connect(server.address)
            try await raw.send(GoMicroCaptures.requests(GoMicroCaptures.hello)[0].bytes)
            let r = try #require(await raw.response())
            #expect(r.status == 200)
            #expect(r.headers["micro-error"] == nil)
            #expect(try json.decode(Reply.self, from: ByteBuffer(bytes: r.body)) == Reply(message: "Hello World"))
            raw.close()
            await server.stop()
        }

        /// A failed call is `200 OK` with `Micro-Error`, the request's headers echoed and no body —
        /// as go-micro's server answers (its client reads any other status as a transport failure).
        @Test func unaryErrorIs200WithMicroErrorAndEchoedHeaders() async throws {
            let server = try await Self.greeter()
            for (exchange, code) in [(GoMicroCaptures.fail, Int32(400)), (GoMicroCaptures.unknown, 404)] {
                let raw = try await RawConnection.connect(server.address)
                try await raw.send(GoMicroCaptures.requests(exchange)[0].bytes)
                let r = try #require(await raw.response())
                #expect(r.status == 200)
                #expect(r.body.isEmpty)
                #expect(r.headers["content-length"] == "0")
                let e = MicroError.parse(try #require(r.headers["micro-error"]))
                #expect(e.code == code)
                #expect(r.headers["x-micro-error"] == r.headers["micro-error"])
                // Echoed as go-micro's server does (the captured answer carries the same ones).
                let captured = try #require(RawResponse.parse(GoMicroCaptures.responses(exchange)[0].bytes))
                for name in ["micro-service", "micro-endpoint", "micro-method", "micro-id", "user-agent", "timeout", "accept", "content-type"] {
                    #expect(r.headers[name] == captured.headers[name], "\(name)")
                }
                #expect(r.headers["host"] == nil)
                // The connection stays usable, as a keep-alive connection.
                try await raw.send(GoMicroCaptures.requests(GoMicroCaptures.hello)[0].bytes)
                #expect(await Self.responses(raw, count: 2).count == 2)
                raw.close()
            }
            #expect(GoMicroCaptures.responses(GoMicroCaptures.fail)[0].text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            await server.stop()
        }

        /// A caller that routes by path (not a go-micro client) keeps meaningful statuses.
        @Test func plainHTTPCallerGetsTheErrorsStatus() async throws {
            let server = try await Self.greeter()
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("POST /Greeter/Hello HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"name\":\"\"}")
            let r = try #require(await raw.response())
            #expect(r.status == 400)
            #expect(MicroError.parse(r.bodyText).code == 400)
            raw.close()
            await server.stop()
        }

        /// go-micro's server stream: the opener and the request pipelined, then one `200 OK` per
        /// message and a last one with `Micro-Error: EOS`; the caller's chunked EOS is dropped and
        /// the connection serves on.
        @Test func serverStreamAsGoMicroSpeaksIt() async throws {
            let server = try await Self.greeter()
            let raw = try await RawConnection.connect(server.address)
            let sent = GoMicroCaptures.requests(GoMicroCaptures.countdown3)
            try await raw.send(sent[0].bytes + sent[1].bytes)
            let answers = await Self.responses(raw, count: 4)
            try #require(answers.count == 4)
            #expect(answers.map(\.status) == [200, 200, 200, 200])
            #expect(answers.prefix(3).map(Self.text) == ["{\"n\":2}", "{\"n\":1}", "{\"n\":0}"])
            #expect(answers.prefix(3).allSatisfy { $0.headers["micro-error"] == nil && $0.headers["micro-stream"] == "0" })
            #expect(answers[3].headers["micro-error"] == "EOS")
            #expect(answers[3].body.isEmpty)
            // The captured go-micro answers say the same.
            let captured = GoMicroCaptures.responses(GoMicroCaptures.countdown3).compactMap { RawResponse.parse($0.bytes) }
            #expect(captured.map(Self.text) == answers.map(Self.text))
            #expect(captured.map { $0.headers["micro-error"] } == answers.map { $0.headers["micro-error"] })

            try await raw.send(sent[2].bytes)   // the caller's EOS: no answer
            try await raw.send(GoMicroCaptures.requests(GoMicroCaptures.hello)[0].bytes)
            let after = await Self.responses(raw, count: 5)
            #expect(after.count == 5)
            #expect(after.last.map(Self.text) == "{\"message\":\"Hello World\"}")
            raw.close()
            await server.stop()
        }

        @Test(arguments: [("countdownNegative", 400, 0), ("countdownBoom", 500, 1)])
        func streamErrorsEndTheStream(_ name: String, _ code: Int, _ messages: Int) async throws {
            let exchange = name == "countdownNegative" ? GoMicroCaptures.countdownNegative : GoMicroCaptures.countdownBoom
            let server = try await Self.greeter()
            let raw = try await RawConnection.connect(server.address)
            let sent = GoMicroCaptures.requests(exchange)
            try await raw.send(sent[0].bytes + sent[1].bytes)
            let answers = await Self.responses(raw, count: messages + 1)
            try #require(answers.count == messages + 1)
            let last = try #require(answers.last)
            #expect(last.status == 200)
            #expect(MicroError.parse(try #require(last.headers["micro-error"])).code == Int32(code))
            let captured = try #require(GoMicroCaptures.responses(exchange).last.flatMap { RawResponse.parse($0.bytes) })
            #expect(MicroError.parse(try #require(captured.headers["micro-error"])) == MicroError.parse(try #require(last.headers["micro-error"])))
            try await raw.send(sent[2].bytes)
            raw.close()
            await server.stop()
        }

        /// go-micro's bidirectional stream: each message a request, each echo a response.
        @Test func bidiStreamAsGoMicroSpeaksIt() async throws {
            let server = try await Self.greeter()
            let raw = try await RawConnection.connect(server.address)
            let sent = GoMicroCaptures.requests(GoMicroCaptures.chatABC)
            #expect(sent.count == 5)   // the opener, A, B, C, the EOS
            try await raw.send(sent[0].bytes)
            for (i, message) in sent[1...3].enumerated() {
                try await raw.send(message.bytes)
                let answers = await Self.responses(raw, count: i + 1)
                try #require(answers.count == i + 1)
            }
            let echoes = await Self.responses(raw, count: 3).map(Self.text)
            #expect(echoes == ["{\"text\":\"echo: A\"}", "{\"text\":\"echo: B\"}", "{\"text\":\"echo: C\"}"])
            let captured = GoMicroCaptures.responses(GoMicroCaptures.chatABC).compactMap { RawResponse.parse($0.bytes) }.map(Self.text)
            #expect(captured == echoes)
            try await raw.send(sent[4].bytes)
            // go-micro's server sends nothing more once the caller ended; this one says EOS.
            let end = await Self.responses(raw, count: 4)
            #expect(end.count == 4 && end[3].headers["micro-error"] == "EOS")
            raw.close()

            let boom = try await RawConnection.connect(server.address)
            let boomSent = GoMicroCaptures.requests(GoMicroCaptures.chatBoom)
            try await boom.send(boomSent[0].bytes + boomSent[1].bytes)
            let failed = try #require(await boom.response())
            #expect(MicroError.parse(try #require(failed.headers["micro-error"])) == .internalServerError("greeter", "boom"))
            boom.close()
            await server.stop()
        }

        /// A go-micro caller that stops early sends its EOS and closes: the handler is cancelled.
        @Test func callerClosingCancelsTheHandler() async throws {
            let exits = Shared<[String]>([])
            let server = try await Self.greeter(exits: exits)
            let raw = try await RawConnection.connect(server.address)
            let sent = GoMicroCaptures.requests(GoMicroCaptures.countdownCancel)
            try await raw.send(sent[0].bytes + sent[1].bytes)
            #expect(await Self.responses(raw, count: 2).count >= 2)
            try await raw.send(sent[2].bytes)
            raw.close()
            #expect(await eventually { exits.value.contains("countdown") })
            let answered = RawResponse.parseAll(raw.received)
            #expect(answered.count < 10, "the handler ran on after the caller left")
            await server.stop()
        }

        /// The opener's `Timeout` bounds the stream: its handler is cancelled and the stream ends with a 408.
        @Test func streamDeadlineEndsTheStreamWith408() async throws {
            let exits = Shared<[String]>([])
            let server = try await Self.greeter(exits: exits)
            let raw = try await RawConnection.connect(server.address)
            let headers = "Content-Type: application/json\r\nMicro-Endpoint: Greeter.Park\r\nMicro-Service: greeter\r\nMicro-Stream: 7\r\nTimeout: 200000000\r\n"
            try await raw.send("POST / HTTP/1.1\r\nHost: a\r\n\(headers)Content-Length: 0\r\n\r\n"
                + "POST / HTTP/1.1\r\nHost: a\r\n\(headers)Content-Length: 10\r\n\r\n{\"from\":1}")
            let answers = await Self.responses(raw, count: 2)
            try #require(answers.count == 2)
            #expect(MicroError.parse(try #require(answers[1].headers["micro-error"])).code == 408)
            #expect(await eventually { exits.value.contains("park") })
            raw.close()
            await server.stop()
        }

        /// A message that breaks the stream's rules closes the connection (and ends the handler).
        @Test(arguments: ["other stream", "after the caller's end", "too large", "no stream header"])
        func brokenStreamMessagesCloseTheConnection(_ kind: String) async throws {
            let exits = Shared<[String]>([])
            var configuration = HTTPTransportConfiguration()
            configuration.maxMessageSize = 1024
            let server = try await Self.greeter(configuration: configuration, exits: exits)
            let raw = try await RawConnection.connect(server.address)
            let base = "Content-Type: application/json\r\nMicro-Endpoint: Greeter.Chat\r\nMicro-Service: greeter\r\n"
            func message(_ stream: String?, _ body: String, error: String? = nil) -> String {
                var h = base
                if let stream { h += "Micro-Stream: \(stream)\r\n" }
                if let error { h += "Micro-Error: \(error)\r\n" }
                return "POST / HTTP/1.1\r\nHost: a\r\n\(h)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            try await raw.send(message("s", "{}") + message("s", "{\"text\":\"A\"}"))
            #expect(await Self.responses(raw, count: 1).count == 1)
            switch kind {
            case "other stream": try await raw.send(message("t", "{\"text\":\"B\"}"))
            case "after the caller's end": try await raw.send(message("s", "", error: "EOS") + message("s", "{\"text\":\"B\"}"))
            case "too large": try await raw.send(message("s", "{\"text\":\"\(String(repeating: "x", count: 2000))\"}"))
            default: try await raw.send(message(nil, "{\"text\":\"B\"}"))
            }
            #expect(await raw.waitClosed())
            await server.stop()
        }

        /// Each message of a go-micro stream must arrive within the read timeout, like any request.
        @Test func halfSentStreamMessageTimesOut() async throws {
            var configuration = HTTPTransportConfiguration()
            configuration.requestReadTimeout = .milliseconds(200)
            let server = try await Self.greeter(configuration: configuration)
            let raw = try await RawConnection.connect(server.address)
            let sent = GoMicroCaptures.requests(GoMicroCaptures.chatABC)
            try await raw.send(sent[0].bytes + sent[1].bytes)
            #expect(await Self.responses(raw, count: 1).count == 1)
            try await raw.send(Array(sent[2].bytes.prefix(60)))
            let started = ContinuousClock.now
            #expect(await raw.waitClosed(within: .seconds(3)))
            #expect(ContinuousClock.now - started < .seconds(2))
            await server.stop()
        }

        // MARK: A go-micro server's bytes to the Swift client

        /// A server that answers the n-th request of each connection with `answers[n]`.
        static func goServer(_ answers: @escaping @Sendable (Int) -> [UInt8]) async throws -> ScriptedServer {
            try await ScriptedServer.start { request in .reply(answers(request.index)) }
        }

        @Test func clientReadsGoMicrosUnaryAnswers() async throws {
            let client = HTTPClientTransport()
            for (exchange, expected) in [(GoMicroCaptures.fail, MicroError.badRequest("greeter", "name is empty")),
                                         (GoMicroCaptures.unknown, MicroError.parse("rpc: can't find method Nope"))] {
                let server = try await Self.goServer { _ in GoMicroCaptures.responses(exchange)[0].bytes }
                let error = await caught {
                    _ = try await client.call(RPCRequest(service: "greeter", endpoint: "Greeter.Hello", body: try encode(Hello(name: ""))), to: server.address)
                }
                #expect(error as? MicroError == expected, "got \(String(describing: error))")
                await server.stop()
            }
            let hello = try await Self.goServer { _ in GoMicroCaptures.responses(GoMicroCaptures.hello)[0].bytes }
            let reply = try await client.call(RPCRequest(service: "greeter", endpoint: "Greeter.Hello", body: try encode(Hello(name: "World"))), to: hello.address)
            #expect(try json.decode(Reply.self, from: reply.body) == Reply(message: "Hello World"))
            await hello.stop()
            await client.shutdown()
        }

        /// The Swift client opens a stream as go-micro's client does and reads go-micro's answers.
        @Test func clientStreamsWithGoMicrosServer() async throws {
            // go-micro answers the request message (the 2nd) with every tick and the EOS, written as one.
            let answers = GoMicroCaptures.responses(GoMicroCaptures.countdown3).flatMap(\.bytes)
            let server = try await Self.goServer { $0 == 1 ? answers : [] }
            let client = HTTPClientTransport()
            let stream = try await client.openStream(RPCRequest(service: "greeter", endpoint: "Greeter.Countdown", id: "42", isStream: true), to: server.address)
            try await stream.send(json.encode(Count(from: 3)))
            try await stream.finishSending()
            var ticks: [Int] = []
            while let m = try await stream.receive() { ticks.append(try json.decode(Tick.self, from: m).n) }
            #expect(ticks == [2, 1, 0])
            // What the Swift client wrote, as go-micro's client writes it.
            #expect(await eventually { server.requests.count == 3 })
            let requests = server.requests
            #expect(requests.allSatisfy { $0.requestLine == "POST / HTTP/1.1" && $0.header("Micro-Stream") == "42" })
            #expect(requests.allSatisfy { $0.header("Micro-Endpoint") == "Greeter.Countdown" && $0.header("Micro-Service") == "greeter" })
            #expect(requests[0].body.isEmpty && requests[0].header("Content-Length") == "0")
            #expect(requests[1].bodyText == "{\"from\":3}")
            #expect(requests[2].header("Micro-Error") == "EOS" && requests[2].body.isEmpty)
            #expect(Set(requests.map(\.connection)).count == 1)
            await client.shutdown()
            await server.stop()
        }

        @Test(arguments: ["countdownNegative", "countdownBoom"])
        func clientGetsGoMicrosStreamErrors(_ name: String) async throws {
            let exchange = name == "countdownNegative" ? GoMicroCaptures.countdownNegative : GoMicroCaptures.countdownBoom
            let answers = GoMicroCaptures.responses(exchange).flatMap(\.bytes)
            let server = try await Self.goServer { $0 == 1 ? answers : [] }
            let client = HTTPClientTransport()
            let stream = try await client.openStream(RPCRequest(service: "greeter", endpoint: "Greeter.Countdown", isStream: true), to: server.address)
            try await stream.send(json.encode(Count(from: name == "countdownNegative" ? -1 : 20000)))
            var ticks = 0
            let error = await caught { while try await stream.receive() != nil { ticks += 1 } }
            let e = try #require(error as? MicroError)
            #expect(e.code == (name == "countdownNegative" ? 400 : 500))
            #expect(e.id == "greeter")
            #expect(ticks == (name == "countdownNegative" ? 0 : 1))
            await client.shutdown()
            await server.stop()
        }

        /// go-micro's answers may arrive in any pieces: one byte at a time reads the same.
        @Test func clientReadsAnswersSplitAnywhere() async throws {
            let answers = GoMicroCaptures.responses(GoMicroCaptures.countdown3).flatMap(\.bytes)
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(MucpResponseDecoder(maxBodySize: 1024)))
            for byte in answers { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
            var bodies: [String] = []
            var errors: [String?] = []
            var body = ""
            while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                switch part {
                case .head(let h): errors.append(h.headers.first(name: "Micro-Error")); body = ""
                case .body(let b): body += String(buffer: b)
                case .end: bodies.append(body)
                }
            }
            #expect(bodies == ["{\"n\":2}\n", "{\"n\":1}\n", "{\"n\":0}\n", ""])
            #expect(errors == [nil, nil, nil, "EOS"])
            _ = try channel.finish()
        }

        /// Malformed answers are typed errors, never a crash or a hang.
        @Test(arguments: [
            ("bad status line", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
            ("not HTTP", "SSH-2.0-OpenSSH\r\n\r\n"),
            ("HTTP/2 status line", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
            ("no length", "HTTP/1.1 200 OK\r\nMicro-Error: EOS\r\n\r\n"),
            ("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            ("signed length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            ("huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            ("over the limit", "HTTP/1.1 200 OK\r\nContent-Length: 2048\r\n\r\n"),
            ("folded header", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n folded\r\n\r\n"),
            ("no name", "HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 0\r\n\r\n"),
            ("bad name", "HTTP/1.1 200 OK\r\nMi cro: x\r\nContent-Length: 0\r\n\r\n"),
            ("bare CR", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n"),
            ("control byte", "HTTP/1.1 200 OK\r\nX: a\u{1}b\r\nContent-Length: 0\r\n\r\n"),
        ])
        func malformedAnswersAreTypedErrors(_ name: String, _ text: String) throws {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(MucpResponseDecoder(maxBodySize: 1024)))
            #expect(throws: TransportError.self, "\(name)") { try channel.writeInbound(ByteBuffer(string: text)) }
            _ = try? channel.finish()
        }

        @Test func oversizedOrEndlessHeadsAreTypedErrors() throws {
            let many = EmbeddedChannel(handler: ByteToMessageHandler(MucpResponseDecoder(maxBodySize: 1024, maxFields: 8)))
            let fields = (0..<9).map { "X-\($0): v\r\n" }.joined()
            #expect(throws: TransportError.self) { try many.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\(fields)Content-Length: 0\r\n\r\n")) }
            _ = try? many.finish()

            let endless = EmbeddedChannel(handler: ByteToMessageHandler(MucpResponseDecoder(maxBodySize: 1024, maxHeadBytes: 256)))
            #expect(throws: TransportError.self) {
                for _ in 0..<100 { try endless.writeInbound(ByteBuffer(string: "X-Padding: vvvvvvvv\r\n")) }
            }
            _ = try? endless.finish()

            let cut = EmbeddedChannel(handler: ByteToMessageHandler(MucpResponseDecoder(maxBodySize: 1024)))
            try cut.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
            #expect(throws: TransportError.self) { _ = try cut.finish() }
        }
    }
}
