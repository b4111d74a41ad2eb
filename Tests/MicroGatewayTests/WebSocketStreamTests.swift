import Foundation
import HummingbirdWSClient
import Logging
import Micro
import MicroGateway
import MicroTestSupport
import NIOConcurrencyHelpers
import Testing

/// Streams through `micro api` over WebSocket, with a real WebSocket client (swift-websocket's) against
/// the greeter's server, client and bidirectional stream endpoints: one JSON text frame per message, an
/// empty message to end the caller's side, close codes for the end, service errors and broken limits.
@Suite(.serialized) struct WebSocketStreamTests {
    @Test func serverClientAndBidirectionalStreams() async throws {
        try await GatewayFixture.api { address, _, _ in
            let countdown = try await webSocket(address, "/greeter/Greeter/Countdown", send: [#"{"from":3}"#])
            #expect(countdown.messages.map(ticks) == [2, 1, 0])
            #expect(countdown.close?.closeCode == .normalClosure)

            let sum = try await webSocket(address, "/greeter/sum", send: [#"{"n":1}"#, #"{"n":2}"#, #"{"n":39}"#, ""])
            #expect(sum.messages == [#"{"sum":42}"#])
            #expect(sum.close?.closeCode == .normalClosure)

            let echo = try await webSocket(address, "/greeter/Greeter/Echo", send: [#"{"text":"a"}"#, #"{"text":"b"}"#, ""])
            #expect(echo.messages == [#"{"text":"A"}"#, #"{"text":"B"}"#])
            #expect(echo.close?.closeCode == .normalClosure)
        }
    }

    @Test func errorsAndLimitsCloseWithTheirCodes() async throws {
        var configuration = GatewayConfiguration(port: 0)
        configuration.maxStreamMessageSize = 1024
        configuration.maxStreamMessages = 3
        configuration.cors = .allowing(["http://app.example"])
        try await GatewayFixture.api(configuration) { address, _, _ in
            // The service's error after two messages: 4000 + its status, its detail as the reason.
            let broken = try await webSocket(address, "/greeter/Greeter/Countdown", send: [#"{"from":99}"#])
            #expect(broken.messages.map(ticks) == [2, 1])
            #expect(broken.close?.closeCode == .unknown(4409))
            #expect(broken.close?.reason == "countdown broke")

            // An unknown service: the upgrade succeeds, then the first frame closes with 4404 (read raw: the
            // close frame arrives with the 101, and the client library does not always see it).
            #expect(try await firstFrameAfterUpgrade(address, "/nosuch/Thing/Stream") == [0x88, 4404])

            let notJSON = try await webSocket(address, "/greeter/sum", send: ["{nope"])
            #expect(notJSON.close?.closeCode == .dataInconsistentWithMessage)

            let tooMany = try await webSocket(address, "/greeter/sum", send: Array(repeating: #"{"n":1}"#, count: 4))
            #expect(tooMany.close?.closeCode == .policyViolation)

            let tooLarge = try await webSocket(address, "/greeter/sum", send: [#"{"n":1,"pad":""# + String(repeating: "x", count: 2000) + #""}"#])
            #expect(tooLarge.close?.closeCode == .messageTooLarge)

            // Origins as CORS says (a page's origin, as a browser sends it): the gateway's own and a listed
            // one may open a stream, another may not, nor `null`; no origin (not a browser) may.
            #expect(try await upgradeStatus(address, "/greeter/Greeter/Countdown", origin: "http://app.example") == 101)
            #expect(try await upgradeStatus(address, "/greeter/Greeter/Countdown", origin: "http://\(address)") == 101)
            #expect(try await upgradeStatus(address, "/greeter/Greeter/Countdown", origin: nil) == 101)
            #expect(try await upgradeStatus(address, "/greeter/Greeter/Countdown", origin: "http://evil.example") == 400)
            #expect(try await upgradeStatus(address, "/greeter/Greeter/Countdown", origin: "null") == 400)
            // A path naming no endpoint is refused too; the gateway still answers afterwards.
            #expect(try await upgradeStatus(address, "/../etc/passwd", origin: nil) == 400)
            let ok = try await http(address, "POST", "/greeter/hello", body: #"{"name":"After"}"#)
            #expect(ok.status == 200)
        }
    }
}

/// What a WebSocket client saw: the text messages, and the server's close frame.
struct WebSocketOutcome: Sendable {
    var messages: [String]
    var close: WebSocketCloseFrame?
}

/// The status answering a WebSocket upgrade request written by hand (so its `Origin` is exactly `origin`).
func upgradeStatus(_ address: String, _ path: String, origin: String?) async throws -> Int? {
    let connection = try await RawConnection.connect(address)
    defer { connection.close() }
    var head = "GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    if let origin { head += "Origin: \(origin)\r\n" }
    try await connection.send(head + "\r\n")
    return await connection.response(within: .seconds(5))?.status
}

/// The first frame the gateway sends on a socket upgraded by hand, as [opcode byte, close code] (nil
/// when the upgrade fails or nothing comes within 5 s).
func firstFrameAfterUpgrade(_ address: String, _ path: String) async throws -> [Int]? {
    let connection = try await RawConnection.connect(address)
    defer { connection.close() }
    try await connection.send("GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        let bytes = connection.received
        if let end = (0..<max(0, bytes.count - 3)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }) {
            guard RawResponse.parse(bytes)?.status == 101 else { return nil }
            let frame = Array(bytes[(end + 4)...])
            if frame.count >= 4 { return [Int(frame[0]), Int(frame[2]) << 8 | Int(frame[3])] }
        }
        try await Task.sleep(for: .milliseconds(5))
    }
    return nil
}

/// Opens a WebSocket to `path` on the gateway with swift-websocket's client (it sends `Origin: ws://host`,
/// no page's origin), sends `send` as text messages, then reads until the server closes (within 10 s,
/// or the test fails).
func webSocket(_ address: String, _ path: String, send: [String]) async throws -> WebSocketOutcome {
    let received = NIOLockedValueBox<[String]>([])
    let settings = WebSocketClientConfiguration(maxFrameSize: 1 << 16)
    let close = try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
        group.addTask {
            let client = WebSocketClient(url: "ws://\(address)\(path)", configuration: settings, logger: Logger(label: "test.ws")) { inbound, outbound, _ in
                for message in send { try await outbound.write(.text(message)) }
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    if case .text(let text) = message { received.withLockedValue { $0.append(text) } }
                }
            }
            return try await client.run()
        }
        group.addTask {
            try await Task.sleep(for: .seconds(10))
            throw TestTimeout(path: path, sent: send.count)
        }
        defer { group.cancelAll() }
        return try await group.next() ?? nil
    }
    return WebSocketOutcome(messages: received.withLockedValue { $0 }, close: close)
}

/// A WebSocket exchange that did not end in time.
struct TestTimeout: Error {
    var path: String
    var sent: Int
}

/// The `n` of a tick message.
func ticks(_ text: String) -> Int {
    ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])?["n"] as? Int ?? -1
}
