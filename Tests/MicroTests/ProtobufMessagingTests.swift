import Foundation
import Micro
import SwiftProtobuf
import Testing

/// Protobuf messages end to end over the real engines: a call in `application/protobuf` over the
/// HTTP transport, and a publish in `application/protobuf` through the HTTP broker to a typed subscriber.
@Suite struct ProtobufMessagingTests {
    @Test func protobufCallAndPublishOverHTTP() async throws {
        let registry = MemoryRegistry()
        let broker = HTTPBroker(registry: registry)
        let service = try MicroService(name: "proto", registry: registry, broker: broker,
                                  transport: (HTTPClientTransport(), HTTPServerTransport()))
        service.handle("Proto.Upper") { (req: Google_Protobuf_StringValue, _) in
            Google_Protobuf_StringValue(req.value.uppercased())
        }
        let (events, delivered) = AsyncStream<(Google_Protobuf_StringValue, String)>.makeStream()
        service.subscribe("proto.events") { (event: Google_Protobuf_StringValue, context) in
            delivered.yield((event, context.metadata["Content-Type"] ?? ""))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { service.stop() }
            for _ in 0..<300 where try await registry.getService("proto").first?.nodes.isEmpty ?? true {
                try await Task.sleep(for: .milliseconds(10))
            }
            let client = Client(registry: registry, transports: [HTTPClientTransport()], broker: HTTPBroker(registry: registry),
                                defaults: CallOptions(contentType: "application/protobuf"))
            let reply = try await client.call("proto", "Proto.Upper", Google_Protobuf_StringValue("swift"), as: Google_Protobuf_StringValue.self)
            #expect(reply.value == "SWIFT")

            try await client.publish("proto.events", Google_Protobuf_StringValue("event"), contentType: "application/protobuf")
            let got = try await bounded("the protobuf event's delivery", within: .seconds(10)) {
                var it = events.makeAsyncIterator()
                guard let first = await it.next() else { throw MicroError.notFound("test", "no event") }
                return first
            }
            #expect(got.0.value == "event")
            #expect(got.1 == "application/protobuf")
            await client.shutdown()
            await client.broker.shutdown()
        }
    }
}
