import Foundation
import MicroCore
@testable import MicroNATS
@testable import NATSClient
import NIOCore
import Testing

extension NATSSuite {
    /// The transport's and registry's wire pieces on their own, without a server: headers, frames,
    /// the stream flow's credit and sequence rules, the registry envelope.
    @Suite struct NATSTransportWireTests {
        @Test func requestHeadersRoundTrip() throws {
            let request = RPCRequest(service: "greeter", endpoint: "Greeter.Hello", contentType: "application/protobuf",
                                     metadata: ["Trace-Id": "t1", "bad name": "x", "Micro-Id": "spoof", "Multi": "a\r\nb"],
                                     deadline: .now() + .seconds(3), id: "req-9", body: ByteBuffer(string: "x"))
            let headers = NATSRPCHeaders.request(request, streamWindow: 8)
            #expect(headers["Micro-Stream"] == "Greeter.Hello")
            #expect(headers["Micro-Stream-Window"] == "8")
            #expect(headers["bad name"] == nil, "a metadata key that is no header name is not sent")
            #expect(headers.values(for: "Micro-Id") == ["req-9"], "metadata cannot override framing headers")
            #expect(headers["multi"] == "ab")
            let parsed = try NATSRPCHeaders.parseRequest(headers, body: ByteBuffer(string: "x"))
            #expect(parsed.service == "greeter" && parsed.endpoint == "Greeter.Hello" && parsed.id == "req-9")
            #expect(parsed.contentType == "application/protobuf")
            #expect(parsed.isStream)
            #expect(parsed.metadata["trace-id"] == "t1")
            #expect(parsed.metadata["micro-stream-window"] == nil)
            let left = try #require(parsed.deadline) - .now()
            #expect(left > .seconds(2) && left <= .seconds(3))
        }

        @Test func requestHeadersAcceptGoVariants() throws {
            var h = NATSHeaders()
            h.add("X-Micro-Method", "Svc.Call")
            h.add("X-Micro-Service", "svc")
            h.add("micro-id", "i")
            let parsed = try NATSRPCHeaders.parseRequest(h, body: ByteBuffer())
            #expect(parsed.endpoint == "Svc.Call" && parsed.service == "svc" && parsed.id == "i")
            #expect(parsed.contentType == "application/json")
            #expect(parsed.deadline == nil)
            #expect(throws: MicroError.self) { try NATSRPCHeaders.parseRequest(["Content-Type": "a/b"], body: ByteBuffer()) }
            // A Timeout that is no positive number is ignored, as go-micro and the HTTP transport do; a huge one saturates.
            #expect(try NATSRPCHeaders.parseRequest(["Micro-Endpoint": "A.B", "Timeout": "-5"], body: ByteBuffer()).deadline == nil)
            #expect(try NATSRPCHeaders.parseRequest(["Micro-Endpoint": "A.B", "Timeout": "soon"], body: ByteBuffer()).deadline == nil)
            #expect(try NATSRPCHeaders.parseRequest(["Micro-Endpoint": "A.B", "Timeout": "\(Int64.max)"], body: ByteBuffer()).deadline == .distantFuture)
        }

        @Test func responseAndErrorHeaders() throws {
            let ok = NATSMessage(subject: "s", headers: NATSRPCHeaders.response(RPCResponse(contentType: "application/json", metadata: ["X-Out": "1"], body: ByteBuffer()), id: "r"),
                                 payload: ByteBuffer(string: "{}"))
            let response = try NATSRPCHeaders.parseResponse(ok)
            #expect(response.metadata["x-out"] == "1" && response.metadata["micro-id"] == nil)
            let e = MicroError(id: "svc", code: 403, detail: "no")
            let failed = NATSMessage(subject: "s", headers: NATSRPCHeaders.error(e, id: "r"), payload: ByteBuffer(string: e.json))
            #expect(throws: e) { try NATSRPCHeaders.parseResponse(failed) }
        }

        @Test func framesParseAndRejectGarbage() throws {
            func message(_ headers: NATSHeaders?, reply: String? = nil) -> NATSMessage {
                NATSMessage(subject: "_INBOX.x", replyTo: reply, headers: headers, payload: ByteBuffer(string: "p"))
            }
            let data = try NATSStreamFrame.parse(message(NATSStreamFrame.headers(.data, number: 3)), address: "a")
            #expect(data.kind == .data && data.number == 3)
            let accept = try NATSStreamFrame.parse(message(NATSStreamFrame.headers(.accept, number: 16), reply: "_INBOX.s"), address: "a")
            #expect(accept.kind == .accept && accept.number == 16 && accept.replyTo == "_INBOX.s")
            let error = try NATSStreamFrame.parse(message(NATSStreamFrame.errorHeaders(.notFound("s", "gone"), sent: 2)), address: "a")
            #expect(error.error?.code == 404 && error.number == 2)
            for bad: NATSHeaders? in [nil, ["X": "y"], ["Micro-Frame": "warp"], ["Micro-Frame": "data"], ["Micro-Frame": "data", "Micro-Seq": "-1"],
                                      ["Micro-Frame": "ack", "Micro-Ack": "lots"], ["Micro-Frame": "accept", "Micro-Stream-Window": "4"]] {
                #expect(throws: TransportError.self) { try NATSStreamFrame.parse(message(bad), address: "a") }
            }
        }

        @Test func flowEnforcesSequenceAndWindow() async throws {
            let flow = NATSStreamFlow(window: 4, peerWindow: 2, peerInbox: "p", address: "a")
            try flow.received(seq: 1, payload: ByteBuffer(string: "1"))
            #expect(throws: TransportError.self) { try flow.received(seq: 3, payload: ByteBuffer()) }
            let fresh = NATSStreamFlow(window: 2, address: "a")
            try fresh.received(seq: 1, payload: ByteBuffer())
            try fresh.received(seq: 2, payload: ByteBuffer())
            #expect(throws: TransportError.self) { try fresh.received(seq: 3, payload: ByteBuffer()) }
        }

        @Test func flowCreditBlocksTheWriterUntilAcknowledged() async throws {
            let flow = NATSStreamFlow(window: 4, peerWindow: 2, peerInbox: "p", address: "a")
            #expect(try await flow.reserveSend() == 1)
            #expect(try await flow.reserveSend() == 2)
            let third = Task { try await flow.reserveSend() }
            try await Task.sleep(for: .milliseconds(50))
            #expect(flow.inFlight == 2)
            try flow.acknowledged(1)
            #expect(try await third.value == 3)
            #expect(throws: TransportError.self) { try flow.acknowledged(9) }
            // Reads acknowledge every window/2 messages.
            for seq in 1...4 { try flow.received(seq: seq, payload: ByteBuffer()) }
            _ = try await flow.next()
            #expect(flow.acknowledgementDue() == nil)
            _ = try await flow.next()
            #expect(flow.acknowledgementDue() == 2)
            try flow.ended(count: 4, peerDone: false)
            _ = try await flow.next()
            _ = try await flow.next()
            #expect(try await flow.next() == nil)
        }

        @Test func flowEndsInOrderAndAbortsAtOnce() async throws {
            let ordered = NATSStreamFlow(window: 4, address: "a")
            try ordered.received(seq: 1, payload: ByteBuffer(string: "a"))
            try ordered.ended(count: 1, error: MicroError.conflict("s", "x"), peerDone: true)
            #expect(try await ordered.next().map { String(buffer: $0) } == "a")
            await #expect(throws: MicroError.self) { try await ordered.next() }
            // After the peer finished, an abort changes nothing and sends are dropped.
            ordered.abort(CancellationError())
            await #expect(throws: MicroError.self) { try await ordered.next() }

            let aborted = NATSStreamFlow(window: 4, peerWindow: 1, peerInbox: "p", address: "a")
            try aborted.received(seq: 1, payload: ByteBuffer(string: "dropped"))
            let reader = Task { () -> ByteBuffer? in _ = try await aborted.next(); return try await aborted.next() }
            try await Task.sleep(for: .milliseconds(30))
            aborted.abort(TransportError(.connectionClosed, address: "a", detail: "x"))
            await #expect(throws: TransportError.self) { try await reader.value }
            await #expect(throws: TransportError.self) { try await aborted.reserveSend() }

            let cancelled = NATSStreamFlow(window: 4, address: "a")
            let waiting = Task { try await cancelled.next() }
            try await Task.sleep(for: .milliseconds(30))
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
        }

        @Test func registryEnvelopeIsGoMicros() throws {
            let list = String(decoding: try JSONEncoder().encode(NATSRegistryResult(action: "list", service: nil)), as: UTF8.self)
            #expect(list.contains("\"Service\":null") && list.contains("\"Action\":\"list\"") && !list.contains("TTL"))
            let create = NATSRegistryResult(action: "create", service: ServiceRecord(name: "s"), ttl: .milliseconds(1500))
            let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(create)) as? [String: Any])
            #expect(object["TTL"] as? Int64 == 1_500_000_000)
            let go = try JSONDecoder().decode(NATSRegistryResult.self, from: Data(#"{"Service":{"name":"x","version":"1","metadata":null,"endpoints":null,"nodes":null},"Action":"update"}"#.utf8))
            #expect(go.action == "update" && go.service?.name == "x" && go.timeToLive == nil)
        }
    }
}
