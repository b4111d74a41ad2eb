@testable import MicroGateway
import Testing

/// Server-Sent Events framing: no message or name, whatever its line breaks, can forge another field or event.
@Suite struct ServerSentEventTests {
    @Test func lineBreaksNeverForgeFields() {
        let text = ServerSentEvent.format(event: "log\r\nevent: admin", data: "{\"a\":1}\r\nevent: forged\rid: 7\ndata: x\n")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "event: logevent: admin")
        #expect(lines.dropFirst().prefix(4).allSatisfy { $0.hasPrefix("data: ") }, "\(lines)")
        #expect(lines.suffix(2) == ["", ""], "one blank line ends the event")
        #expect(!text.contains("\r"))
        #expect(text.components(separatedBy: "\n\n").count == 2, "exactly one event")
    }

    @Test func trailingNewlineIsNotAnEmptyDataLine() {
        #expect(ServerSentEvent.format(data: "{\"n\":1}\n") == "data: {\"n\":1}\n\n")
        #expect(ServerSentEvent.format(event: "end", data: "") == "event: end\ndata: \n\n")
    }

    @Test func corsPolicyParsing() {
        #expect(CORSPolicy.parse("") == .none)
        #expect(CORSPolicy.parse("none") == .none)
        #expect(CORSPolicy.parse("*") == .all)
        #expect(CORSPolicy.parse("http://a, http://b").allowedOrigin("http://b") == "http://b")
        #expect(CORSPolicy.parse("http://a").allowedOrigin("http://evil") == nil)
        #expect(CORSPolicy.sanitized("content-type\r\nx-evil: 1") == nil)
    }
}
