import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Micro
import MicroAuth
import MicroCore
import MicroNATS
import MicroTestSupport
import NATSClient
import Testing

/// The secured greeter over every transport: one rule for `Greeter.Hello` covers mucp over HTTP,
/// both gRPC paths and NATS; anything not granted is refused before a handler runs.
@Suite("Auth on every transport", .serialized)
struct AuthTransportTests {
    /// The same checks through the Micro client on any transport.
    static func expectEnforced(_ client: Client, _ greeter: SecuredGreeter, endpoints: [String] = ["Greeter.Hello"]) async throws {
        let alice = BearerToken.value(greeter.alice.accessToken), bob = BearerToken.value(greeter.bob.accessToken)
        for endpoint in endpoints {
            #expect(try await client.hello(endpoint, authorization: alice).get() == HelloReply(message: "Hello x from alice"), "\(endpoint)")
            #expect(await client.hello(endpoint, authorization: nil).failure?.code == 401, "\(endpoint) without a token")
            #expect(await client.hello(endpoint, authorization: bob).failure?.code == 403, "\(endpoint) with a token lacking the scope")
            #expect(await client.hello(endpoint, authorization: "Bearer not-a-token").failure?.code == 401, "\(endpoint) with a forged token")
        }
        #expect(await client.hello("Greeter.Bye", authorization: alice).failure?.code == 403, "no rule grants Greeter.Bye")
        #expect(await client.hello("Greeter.Bye", authorization: nil).failure?.code == 401)
        let health: HealthResponse = try await client.call("greeter", "Debug.Health", [String: String]())
        #expect(health.status == "ok", "Debug.Health is public by rule")
    }

    @Test func http() async throws {
        let greeter = try await SecuredGreeter.make()
        let registry = MemoryRegistry()
        let service = try greeter.service([:], registry: registry)
        try await greeter.running(service) {
            let client = plainClient(registry)
            try await Self.expectEnforced(client, greeter)
            await client.shutdown()
            let address = try #require(service.address)
            let token = greeter.alice.accessToken
            func mucp(_ headers: [String], path: String = "/") async throws -> (code: Int32?, body: String) {
                let args = ["-s", "-i", "-H", "Content-Type: application/json", "-H", "Micro-Endpoint: Greeter.Hello"]
                    + headers.flatMap { ["-H", $0] } + ["-d", #"{"name":"x"}"#, "http://\(address)\(path)"]
                return try await curlMicro(args)
            }
            // The header's name and scheme in any case.
            #expect(try await mucp(["AUTHORIZATION: bearer \(token)"]).body.contains("Hello x from alice"))
            // Sent twice, even both valid: refused.
            #expect(try await mucp(["Authorization: Bearer \(token)", "authorization: Bearer \(token)"]).code == 401)
            // In the query string: ignored, so the call is unauthenticated.
            #expect(try await mucp([], path: "/?access_token=\(token)&token=\(token)&authorization=Bearer%20\(token)").code == 401)
            // Routing by path: the same rule; a percent-encoded or aliased path never reaches a handler.
            let before = greeter.handled.value
            let byPath = try await curlMicro(["-s", "-i", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer \(token)",
                                              "-d", #"{"name":"x"}"#, "http://\(address)/Greeter/Hello"])
            #expect(byPath.body.contains("Hello x from alice"))
            #expect(try await curlMicro(["-s", "-i", "-d", "{}", "http://\(address)/Greeter/Hello"]).code == 401)
            for path in ["/Greeter/Hell%6F", "/Greeter%2FHello", "/greeter.v1.Greeter/Hello", "/Greeter/Bye/../Hello"] {
                let r = try await curlMicro(["-s", "-i", "--path-as-is", "-H", "Authorization: Bearer \(greeter.bob.accessToken)",
                                             "-d", #"{"name":"x"}"#, "http://\(address)\(path)"])
                #expect(r.code != nil && !r.body.contains("Hello x"), "\(path): \(r)")
            }
            #expect(greeter.handled.value == before + 1, "only the granted call ran a handler")
        }
    }

    @Test func grpc() async throws {
        let greeter = try await SecuredGreeter.make()
        let registry = MemoryRegistry()
        let service = try greeter.service(["MICRO_TRANSPORT": "grpc"], registry: registry)
        try await greeter.running(service) {
            // go-micro's endpoint name (the alias path /greeter.Greeter/Hello) and the proto path.
            let client = plainClient(registry)
            try await Self.expectEnforced(client, greeter, endpoints: ["Greeter.Hello", "/greeter.v1.Greeter/Hello", "/greeter.Greeter/Hello"])
            let alice = BearerToken.value(greeter.alice.accessToken)
            let before = greeter.handled.value
            for path in ["/greeter.v1.Greeter/Hell%6F", "/greeter.v1.Greeter%2FHello", "/greeter.v1.Greeter/hello", "/Greeter/Hello"] {
                #expect(await client.hello(path, authorization: alice).failure != nil, "\(path)")
            }
            #expect(greeter.handled.value == before)
            await client.shutdown()

            // A native gRPC client sending the metadata twice (HTTP/2 names are lowercase by rule).
            let port = try #require(service.address.flatMap { Int($0.split(separator: ":").last ?? "") })
            func native(_ values: [String]) async throws -> RPCError.Code? {
                var metadata = GRPCCore.Metadata()
                for v in values { metadata.addString(v, forKey: "authorization") }
                let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
                return try await withGRPCClient(transport: transport) { grpc in
                    do {
                        _ = try await grpc.unary(request: ClientRequest(message: Array(#"{"name":"x"}"#.utf8), metadata: metadata),
                                                 descriptor: MethodDescriptor(fullyQualifiedService: "greeter.v1.Greeter", method: "Hello"),
                                                 serializer: RawBytes(), deserializer: RawBytes(), options: .defaults) { try $0.message }
                        return nil
                    } catch let error as RPCError {
                        return error.code
                    }
                }
            }
            let handledBefore = greeter.handled.value
            #expect(try await native([alice, alice]) == .unauthenticated)
            #expect(try await native([]) == .unauthenticated)
            #expect(try await native([BearerToken.value(greeter.bob.accessToken)]) == .permissionDenied)
            #expect(greeter.handled.value == handledBefore, "no refused call reached the handler")
            // One valid value reaches the handler (which then refuses the protobuf-typed body: not our concern here).
            _ = try await native([alice])
            #expect(greeter.handled.value == handledBefore + 1)
        }
    }

    @Test func natsAndASubscriberRefusingAnUnauthenticatedPublish() async throws {
        let nats = try await NATSServerProcess()
        defer { nats.stop() }
        let greeter = try await SecuredGreeter.make()
        try await greeter.auth.grant(Rule(id: "greetings", scope: "greeter", resource: Resource(type: "topic", name: "greetings", endpoint: "*")))
        let registry = MemoryRegistry()
        let env = ["MICRO_TRANSPORT": "nats", "MICRO_TRANSPORT_ADDRESS": nats.url, "MICRO_BROKER": "nats", "MICRO_BROKER_ADDRESS": nats.url]
        let service = try greeter.service(env, registry: registry)
        try await greeter.running(service) {
            let client = plainClient(registry, nats: nats.url)
            try await Self.expectEnforced(client, greeter)
            await client.shutdown()

            let anonymous = NATSBroker(options: NATSOptions(servers: [nats.url]))
            let credentials = ServiceCredentials()
            credentials.update(greeter.alice)
            let signedBroker = NATSBroker(options: NATSOptions(servers: [nats.url]))
            let unsigned = Client(registry: registry, transports: [], broker: anonymous)
            let signed = Client(registry: registry, transports: [], broker: signedBroker, publishWrappers: [AuthPublishWrapper(credentials: credentials)])
            try await unsigned.publish("greetings", Greeting(text: "anonymous"))
            try await signed.publish("greetings", Greeting(text: "from alice"))
            let deadline = ContinuousClock.now + .seconds(5)
            while greeter.received.value < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(200))
            #expect(greeter.received.value == 1, "only the signed message was delivered")
            await anonymous.shutdown()
            await signedBroker.shutdown()
        }
    }
}

/// Passes bytes through unchanged (a native gRPC call with a hand-made body).
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// Runs curl (`-i`) and reads the MicroError code from `Micro-Error`, or else from the HTTP status when not 200.
func curlMicro(_ arguments: [String]) async throws -> (code: Int32?, body: String) {
    guard let curl = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        Issue.record("curl is required (scripts/test installs it)")
        return (nil, "")
    }
    let outcome = try await ChildProcess.outcome(curl, ["--max-time", "5"] + arguments, timeout: .seconds(20))
    let text = outcome.stdout
    let lines = text.components(separatedBy: "\r\n")
    if let header = lines.first(where: { $0.lowercased().hasPrefix("micro-error:") }) {
        return (MicroError.parse(String(header.dropFirst("micro-error:".count)).trimmingCharacters(in: .whitespaces)).code, text)
    }
    let status = lines.first.flatMap { Int32($0.split(separator: " ").dropFirst().first ?? "") }
    return (status == 200 ? nil : status, text)
}
