import MicroCore
import NIOCore
import MicroTestSupport
import Testing

@testable import MicroNATS
@testable import NATSClient

extension NATSSuite {
    /// The server-protocol parser on its own: every operation, every split point, malformed lines, fuzzing.
    @Suite struct NATSParserTests {
        /// A stream with every operation the server sends.
        static let stream: String =
            "INFO {\"server_id\":\"S1\",\"version\":\"2.9.10\",\"max_payload\":1048576,\"headers\":true,\"connect_urls\":[\"10.0.0.1:4222\"]}\r\n"
            + "+OK\r\n"
            + "PING\r\n"
            + "PONG\r\n"
            + "MSG foo.bar 1 5\r\nhello\r\n"
            + "MSG foo.bar 2 reply.to 0\r\n\r\n"
            + "msg lower 3 2\r\nhi\r\n"
            + "MSG tabs\t4 \t 3\r\nabc\r\n"
            + "HMSG h.one 5 24 29\r\nNATS/1.0\r\nA: 1\r\nA: 2\r\n\r\nworld\r\n"
            + "HMSG h.two 6 _INBOX.x.1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
            + "HMSG h.three 7 32 32\r\nNATS/1.0 408 Request Timeout\r\n\r\n\r\n"
            + "-ERR 'Permissions Violation for Publish to \"x\"'\r\n"
            + "MSG bin 8 4\r\n\r\n\r\n\r\n"

        /// A comparable rendering of an operation.
        static func render(_ op: NATSProtocolParser.Operation) -> String {
            switch op {
            case .info(let info): return "INFO \(info.serverID) \(info.version) \(info.maxPayload) \(info.headers) \(info.connectURLs)"
            case .ping: return "PING"
            case .pong: return "PONG"
            case .ok: return "OK"
            case .error(let text): return "ERR \(text)"
            case .message(let sid, let m):
                let headers = m.headers.map { h in
                    "status=\(h.status.map(String.init) ?? "-") desc=\(h.statusDescription ?? "-") " + h.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                } ?? "none"
                return "MSG \(m.subject) \(sid) \(m.replyTo ?? "-") [\(String(buffer: m.payload))] \(headers)"
            }
        }

        static func parseAll(_ chunks: [[UInt8]], parser: inout NATSProtocolParser) throws -> [String] {
            var out: [String] = []
            for chunk in chunks {
                parser.append(ByteBuffer(bytes: chunk))
                while let op = try parser.next() { out.append(render(op)) }
            }
            return out
        }

        static let expected: [String] = [
            "INFO S1 2.9.10 1048576 true [\"10.0.0.1:4222\"]",
            "OK", "PING", "PONG",
            "MSG foo.bar 1 - [hello] none",
            "MSG foo.bar 2 reply.to [] none",
            "MSG lower 3 - [hi] none",
            "MSG tabs 4 - [abc] none",
            "MSG h.one 5 - [world] status=- desc=- A=1,A=2",
            "MSG h.two 6 _INBOX.x.1 [] status=503 desc=- ",
            "MSG h.three 7 - [] status=408 desc=Request Timeout ",
            "ERR Permissions Violation for Publish to \"x\"",
            "MSG bin 8 - [\r\n\r\n] none",
        ]

        @Test func everyOperationInOneBuffer() throws {
            var parser = NATSProtocolParser()
            let ops = try Self.parseAll([Array(Self.stream.utf8)], parser: &parser)
            #expect(ops == Self.expected)
            #expect(parser.bufferedBytes == 0)
        }

        @Test func everySplitPoint() throws {
            let bytes = Array(Self.stream.utf8)
            for split in 0...bytes.count {
                var parser = NATSProtocolParser()
                let ops = try Self.parseAll([Array(bytes[..<split]), Array(bytes[split...])], parser: &parser)
                #expect(ops == Self.expected, "split at \(split)")
            }
            // Two split points, and one byte at a time.
            for split in stride(from: 0, to: bytes.count, by: 7) {
                let second = min(bytes.count, split + 13)
                var parser = NATSProtocolParser()
                let ops = try Self.parseAll([Array(bytes[..<split]), Array(bytes[split..<second]), Array(bytes[second...])], parser: &parser)
                #expect(ops == Self.expected, "split at \(split) and \(second)")
            }
            var parser = NATSProtocolParser()
            let ops = try Self.parseAll(bytes.map { [$0] }, parser: &parser)
            #expect(ops == Self.expected)
        }

        @Test func largePayloadAcrossManyChunks() throws {
            let payload = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            var bytes = Array("MSG big 9 \(payload.count)\r\n".utf8) + payload + Array("\r\nPING\r\n".utf8)
            var parser = NATSProtocolParser()
            var ops: [NATSProtocolParser.Operation] = []
            while !bytes.isEmpty {
                let n = min(bytes.count, 1500)
                parser.append(ByteBuffer(bytes: bytes[..<n]))
                bytes.removeFirst(n)
                while let op = try parser.next() { ops.append(op) }
            }
            #expect(ops.count == 2)
            guard case .message(let sid, let message)? = ops.first else {
                Issue.record("expected a message")
                return
            }
            #expect(sid == 9)
            #expect(Array(message.payload.readableBytesView) == payload)
            guard case .ping? = ops.last else {
                Issue.record("expected PING")
                return
            }
        }

        /// A long stream of messages of every size (payloads larger than the reads, long subjects that repeat and
        /// change, replies, headers, pings) read in random chunks, sometimes several before parsing: the same
        /// operations as from one buffer, payloads intact.
        @Test func randomReadsMatchOneBuffer() throws {
            var rng = SeededGenerator(seed: 0xC0FFEE)
            var stream: [UInt8] = []
            let sizes = [0, 1, 15, 16, 17, 100, 1000, 4096, 5000, 0, 1, 16, 100, 70_000]
            let subjects = ["a", "short.subject", "a.much.longer.subject.than.fifteen.bytes", "another.long.subject.name.here", "_INBOX.abcdefghijklmnopqrstuv.17"]
            for i in 0..<300 {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:
                    stream += Array("PING\r\n".utf8)
                case 1:
                    let payload = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: Int.random(in: 0..<50, using: &rng))
                    let header = Array("NATS/1.0\r\nK: \(i)\r\n\r\n".utf8)
                    stream += Array("HMSG \(subjects[i % subjects.count]) \(i) r.\(i) \(header.count) \(header.count + payload.count)\r\n".utf8) + header + payload + [13, 10]
                default:
                    let size = sizes.randomElement(using: &rng)!
                    let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
                    let subject = subjects[Int.random(in: 0..<subjects.count, using: &rng)]
                    let reply = Bool.random(using: &rng) ? " reply.\(i)" : ""
                    stream += Array("MSG \(subject) \(i)\(reply) \(size)\r\n".utf8) + payload + [13, 10]
                }
            }
            func render(_ op: NATSProtocolParser.Operation) -> String {
                guard case .message(let sid, let m) = op else { return Self.render(op) }
                // A sample of the bytes (every 61st and the last ones) is enough to see a shifted or torn payload.
                let hash = m.payload.withUnsafeReadableBytes { bytes -> UInt64 in
                    var hash: UInt64 = 1469598103934665603
                    for i in stride(from: 0, to: bytes.count, by: 61) { hash = (hash ^ UInt64(bytes[i])) &* 1099511628211 }
                    for i in max(0, bytes.count - 8)..<bytes.count { hash = (hash ^ UInt64(bytes[i])) &* 1099511628211 }
                    return hash
                }
                return "MSG \(m.subject) \(sid) \(m.replyTo ?? "-") \(m.payload.readableBytes) \(hash) \(m.headers?["K"] ?? "-")"
            }
            var whole = NATSProtocolParser(maxControlLineSize: 4096, maxPayloadSize: 1 << 20)
            whole.append(ByteBuffer(bytes: stream))
            var expected: [String] = []
            while let op = try whole.next() { expected.append(render(op)) }
            #expect(expected.count == 300)
            for round in 0..<8 {
                var parser = NATSProtocolParser(maxControlLineSize: 4096, maxPayloadSize: 1 << 20)
                var got: [String] = []
                var offset = 0
                while offset < stream.count {
                    // One to three reads before parsing.
                    for _ in 0..<Int.random(in: 1...3, using: &rng) where offset < stream.count {
                        let n = min(stream.count - offset, Int.random(in: 1...(round % 2 == 0 ? 200 : 70_000), using: &rng))
                        parser.append(ByteBuffer(bytes: stream[offset..<(offset + n)]))
                        offset += n
                    }
                    while let op = try parser.next() { got.append(render(op)) }
                }
                #expect(got == expected, "round \(round)")
                #expect(parser.bufferedBytes == 0)
            }
        }

        /// Malformed input, each a protocol violation (and the parser stays failed).
        static let malformed: [(String, String)] = [
            ("unknown operation", "FOO bar\r\n"),
            ("empty line", "\r\n"),
            ("MSG too few arguments", "MSG foo 5\r\n"),
            ("MSG too many arguments", "MSG foo 1 reply extra 5\r\nhello\r\n"),
            ("MSG non-numeric size", "MSG foo 1 five\r\n"),
            ("MSG negative size", "MSG foo 1 -5\r\n"),
            ("MSG overflowing size", "MSG foo 1 99999999999999999999999\r\n"),
            ("MSG non-numeric sid", "MSG foo abc 5\r\nhello\r\n"),
            ("MSG overflowing sid", "MSG foo 99999999999999999999999 5\r\nhello\r\n"),
            ("MSG missing CRLF after payload", "MSG foo 1 3\r\nabcXY"),
            ("MSG payload longer than declared", "MSG foo 1 3\r\nabcd\r\n"),
            ("MSG size over the payload bound", "MSG foo 1 2000000\r\n"),
            ("HMSG too few arguments", "HMSG foo 1 5\r\n"),
            ("HMSG too many arguments", "HMSG foo 1 r x 12 12\r\n"),
            ("HMSG header size larger than total", "HMSG foo 1 30 12\r\n"),
            ("HMSG non-numeric header size", "HMSG foo 1 x 12\r\n"),
            ("HMSG negative total", "HMSG foo 1 12 -12\r\n"),
            ("HMSG header block without NATS/1.0", "HMSG foo 1 8 8\r\nHTTP\r\n\r\n\r\n"),
            ("HMSG header block without end", "HMSG foo 1 10 10\r\nNATS/1.0\r\n\r\n"),
            ("HMSG header line without colon", "HMSG foo 1 17 17\r\nNATS/1.0\r\nbad\r\n\r\n\r\n"),
            ("HMSG bad status code", "HMSG foo 1 16 16\r\nNATS/1.0 5x3\r\n\r\n\r\n"),
            ("PING with arguments", "PING now\r\n"),
            ("PONG with arguments", "PONG 1\r\n"),
            ("+OK with arguments", "+OK fine\r\n"),
            ("INFO without JSON", "INFO\r\n"),
            ("INFO with bad JSON", "INFO {\"server_id\":\r\n"),
            ("INFO with wrong JSON types", "INFO {\"max_payload\":\"big\"}\r\n"),
            ("line ending in LF only", "PING\n"),
            ("control line too long", "MSG " + String(repeating: "a", count: 5000)),
            ("control line too long with CRLF", "INFO {\"x\":\"" + String(repeating: "a", count: 5000) + "\"}\r\n"),
        ]

        @Test(arguments: 0..<malformed.count)
        func malformedInputIsAProtocolViolation(_ index: Int) throws {
            let (name, input) = Self.malformed[index]
            var parser = NATSProtocolParser(maxControlLineSize: 4096, maxPayloadSize: 1_048_576)
            parser.append(ByteBuffer(string: input))
            var thrown: NATSError?
            do {
                while try parser.next() != nil {}
            } catch {
                thrown = error
            }
            #expect(thrown?.code == .protocolViolation, "\(name): \(String(describing: thrown))")
            // A failed parser keeps failing, even with valid input.
            parser.append(ByteBuffer(string: "PING\r\n"))
            #expect(throws: NATSError.self, "\(name) stays failed") { try parser.next() }
        }

        @Test func headersRoundTripThroughTheWireFormat() throws {
            var headers: NATSHeaders = ["Content-Type": "application/json"]
            headers.add("X-Multi", "one")
            headers.add("x-multi", "two")
            headers["Single"] = "1"
            #expect(headers["content-type"] == "application/json")
            #expect(headers.values(for: "X-MULTI") == ["one", "two"])
            try headers.validate()
            var buffer = ByteBuffer()
            let written = headers.write(to: &buffer)
            #expect(written == headers.encodedLength)
            let parsed = try NATSHeaders.parse(buffer)
            #expect(parsed == headers)
            headers.set("X-Multi", "three")
            #expect(headers.values(for: "x-multi") == ["three"])
            headers["X-Multi"] = nil
            #expect(headers["X-Multi"] == nil)
            var bad = NATSHeaders()
            bad.add("Bad Name", "v")
            #expect(throws: NATSError.self) { try bad.validate() }
            var badValue = NATSHeaders()
            badValue.add("Name", "line\r\nbreak")
            #expect(throws: NATSError.self) { try badValue.validate() }
        }

        @Test func fuzzNeverCrashesHangsOrExceedsBounds() {
            var rng = SeededGenerator(seed: 0x5EED_0F_4A75)
            let valid = Array(Self.stream.utf8)
            let alphabet = Array("MSGHPINOKERF+-\r\n 0123456789{}\":,.abc\t".utf8)
            let maxControlLine = 256
            let maxPayload = 4096
            var operations = 0
            var violations = 0
            for iteration in 0..<20_000 {
                var input: [UInt8]
                switch iteration % 4 {
                case 0: // random bytes from a protocol-flavoured alphabet
                    input = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
                case 1: // fully random bytes
                    input = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                default: // the valid stream, mutated
                    input = valid
                    for _ in 0..<Int.random(in: 1...6, using: &rng) {
                        let position = Int.random(in: 0..<max(1, input.count), using: &rng)
                        switch Int.random(in: 0..<4, using: &rng) {
                        case 0 where !input.isEmpty: input[position] = alphabet.randomElement(using: &rng)!
                        case 1: input.insert(UInt8.random(in: 0...255, using: &rng), at: min(position, input.count))
                        case 2 where !input.isEmpty: input.remove(at: position)
                        default: input = Array(input[..<min(position, input.count)])
                        }
                    }
                }
                var parser = NATSProtocolParser(maxControlLineSize: maxControlLine, maxPayloadSize: maxPayload)
                var offset = 0
                var failed = false
                while offset < input.count, !failed {
                    let n = Int.random(in: 1...64, using: &rng)
                    parser.append(ByteBuffer(bytes: input[offset..<min(input.count, offset + n)]))
                    offset += n
                    var steps = 0
                    do {
                        while try parser.next() != nil {
                            operations += 1
                            steps += 1
                            if steps > input.count + 1 {
                                Issue.record("parser produced more operations than bytes (iteration \(iteration))")
                                return
                            }
                        }
                    } catch {
                        #expect(error.code == .protocolViolation)
                        violations += 1
                        failed = true
                    }
                    if !failed && parser.bufferedBytes > max(maxControlLine, maxPayload) + 2 {
                        Issue.record("parser holds \(parser.bufferedBytes) bytes (iteration \(iteration))")
                        return
                    }
                }
            }
            #expect(operations > 0)
            #expect(violations > 0)
        }
    }
}
