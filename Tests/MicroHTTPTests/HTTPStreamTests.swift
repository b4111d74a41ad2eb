import Foundation
import MicroCore
import MicroHTTP
import NIOCore
import Testing

@Suite struct HTTPStreamTests {
    let json = JSONCodec()

    @Test func serverStreaming() async throws {
        let server = try await TestServer.start()
        let client = HTTPClientTransport()
        let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Countdown", isStream: true), to: server.address)
        try await stream.send(json.encode(Count(from: 3)))
        try await stream.finishSending()
        var ticks: [Int] = []
        while let m = try await stream.receive() { ticks.append(try json.decode(Tick.self, from: m).n) }
        #expect(ticks == [2, 1, 0])
        await client.shutdown()
        await server.stop()
    }
}
