import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import MicroGRPC

/// The call every peer row makes: go-micro's mucp `Greeter.Hello` with `{"name":"world"}`, over
/// HTTP/1.1 (a POST to `/` naming the endpoint in `Micro-Endpoint`, JSON both ways) or over gRPC
/// (`/greeter.v1.Greeter/Hello`, the protobuf `HelloRequest{name:"world"}` in a 5-byte-prefixed frame).
enum MucpHello {
    static let jsonBody = #"{"name":"world"}"#
    /// What the greeter and the Go peer answer over HTTP/1.1.
    static let expectedJSON = #"{"message":"Hello world"}"#

    /// The encoded HTTP/1.1 request.
    static func httpRequest(port: Int) -> [UInt8] {
        Array(("POST / HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nMicro-Endpoint: Greeter.Hello\r\n" +
               "Content-Length: \(jsonBody.utf8.count)\r\n\r\n\(jsonBody)").utf8)
    }

    /// wrk's script: the same request, and one `MICROBENCH` line at the end with the requests, the
    /// duration (µs), the errors (connect, read, write, status, timeout) and p50/p99 (µs) from wrk's histogram.
    static let wrkScript = """
        wrk.method = "POST"
        wrk.body = '\(jsonBody)'
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["Micro-Endpoint"] = "Greeter.Hello"
        function done(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("MICROBENCH %d %d %d %d %d %d %d %.1f %.1f\\n", summary.requests, summary.duration,
            e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
        end
        """

    /// The gRPC request body: a frame (uncompressed, 7 bytes) holding field 1 = "world".
    static let grpcFrame: [UInt8] = [0, 0, 0, 0, 7, 0x0A, 5] + Array("world".utf8)
    /// The gRPC path on the greeter (the proto's full name) and on grpc-go.
    static let grpcPath = "/greeter.v1.Greeter/Hello"

    /// One call over a fresh HTTP/1.1 connection; throws unless the answer is the expected greeting.
    static func checkHTTP(port: Int, server: String) throws {
        let connection = try BlockingHTTPConnection(port: port)
        defer { connection.close() }
        let answer = try connection.call(httpRequest(port: port))
        let body = String(decoding: answer.body, as: UTF8.self)
        guard answer.status == 200, answer.header("micro-error") == nil, body == expectedJSON else {
            throw BenchError("\(server) answered \(answer.status) \(answer.header("micro-error") ?? "") \(body.prefix(200)) to Greeter.Hello")
        }
    }

    /// One gRPC call to `/greeter.v1.Greeter/Hello` (helloworld's messages have the same wire as
    /// greeter.v1's HelloRequest/HelloReply); throws unless the answer is "Hello world".
    static func checkGRPC(port: Int, server: String) async throws {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        let message = try await withGRPCClient(transport: transport) { client in
            try await client.unary(request: ClientRequest(message: Helloworld_HelloRequest.with { $0.name = "world" }),
                                   descriptor: MethodDescriptor(fullyQualifiedService: "greeter.v1.Greeter", method: "Hello"),
                                   serializer: ProtobufSerializer<Helloworld_HelloRequest>(),
                                   deserializer: ProtobufDeserializer<Helloworld_HelloReply>(),
                                   options: .defaults) { try $0.message.message }
        }
        guard message == "Hello world" else { throw BenchError("\(server) answered \(message.prefix(200)) to greeter.v1.Greeter/Hello") }
    }
}
