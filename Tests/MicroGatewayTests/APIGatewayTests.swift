import Foundation
import Micro
import MicroGateway
import MicroTestSupport
import Testing

/// `micro api` against a real greeter over the HTTP transport: go-micro's path mapping, `/rpc`, errors
/// and their statuses, streams as Server-Sent Events, CORS, the Authorization header, size and time limits.
@Suite(.serialized) struct APIGatewayTests {
    @Test func pathsAndRPCReachTheEndpoint() async throws {
        try await GatewayFixture.api { address, _, _ in
            for path in ["/greeter/hello", "/greeter/Greeter/Hello"] {
                let r = try await http(address, "POST", path, headers: [("Content-Type", "application/json")], body: #"{"name":"Alice"}"#)
                #expect(r.status == 200, "\(path): \(r.bodyText)")
                #expect(try object(r)["message"] as? String == "Hello Alice")
                #expect(r.headers["content-type"] == "application/json")
            }
            let rpc = try await http(address, "POST", "/rpc", body: #"{"service":"greeter","endpoint":"Greeter.Hello","request":{"name":"Bob"}}"#)
            #expect(rpc.status == 200)
            #expect(try object(rpc)["message"] as? String == "Hello Bob")
            // go-micro also takes the request as a string of JSON.
            let quoted = try await http(address, "POST", "/rpc", body: #"{"service":"greeter","endpoint":"Greeter.Hello","request":"{\"name\":\"Eve\"}"}"#)
            #expect(try object(quoted)["message"] as? String == "Hello Eve")
        }
    }

    @Test func errorsAreGoMicroJSONWithTheirStatus() async throws {
        try await GatewayFixture.api { address, _, _ in
            // The service's own error keeps its code.
            let bad = try await http(address, "POST", "/greeter/hello", body: #"{"name":""}"#)
            #expect(bad.status == 400)
            let e = try object(bad)
            #expect(e["id"] as? String == "greeter")
            #expect(e["code"] as? Int == 400)
            #expect(e["detail"] as? String == "name is required")
            #expect(e["status"] as? String == "Bad Request")

            let unknownService = try await http(address, "POST", "/nosuch/hello", body: "{}")
            #expect(unknownService.status == 404)
            #expect(try object(unknownService)["detail"] as? String == "service nosuch: not found")
            #expect(try object(unknownService)["status"] as? String == "Not Found")

            let unknownEndpoint = try await http(address, "POST", "/greeter/Greeter/Nope", body: "{}")
            #expect(unknownEndpoint.status == 404)
            #expect(try object(unknownEndpoint)["code"] as? Int == 404)

            let malformed = try await http(address, "POST", "/greeter/hello", body: #"{"name": "#)
            #expect(malformed.status == 400)
            #expect(try object(malformed)["id"] as? String == "go.micro.api")

            let rpcMalformed = try await http(address, "POST", "/rpc", body: "[1,2")
            #expect(rpcMalformed.status == 400)
            let rpcMissing = try await http(address, "POST", "/rpc", body: #"{"endpoint":"Greeter.Hello"}"#)
            #expect(rpcMissing.status == 400)
            #expect(try object(rpcMissing)["detail"] as? String == "service is required")

            let get = try await http(address, "GET", "/greeter/hello")
            #expect(get.status == 405)
            let root = try await http(address, "POST", "/", body: "{}")
            #expect(root.status == 404)
            // Traversal or markup in a path never names a service.
            for path in ["/../etc/passwd", "/greeter/%2e%2e/hello", "/<script>/x"] {
                let r = try await http(address, "POST", path, body: "{}")
                #expect(r.status == 404, "\(path): \(r.status)")
            }
        }
    }

    @Test func serverStreamAsServerSentEvents() async throws {
        try await GatewayFixture.api { address, _, _ in
            let r = try await http(address, "POST", "/greeter/Greeter/Countdown", headers: [("Accept", "text/event-stream")], body: #"{"from":3}"#)
            #expect(r.status == 200)
            #expect(r.headers["content-type"] == "text/event-stream")
            let data = r.bodyText.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { $0.dropFirst(6) }
            #expect(data == [#"{"n":2}"#, #"{"n":1}"#, #"{"n":0}"#, "{}"], "\(r.bodyText)")
            #expect(r.bodyText.contains("event: end\n"))

            // A failure after the first message arrives as an error event with go-micro's JSON.
            let broken = try await http(address, "POST", "/greeter/Greeter/Countdown", headers: [("Accept", "text/event-stream")], body: #"{"from":99}"#)
            #expect(broken.status == 200)
            #expect(broken.bodyText.contains("event: error\ndata: "), "\(broken.bodyText)")
            #expect(broken.bodyText.contains(#""detail":"countdown broke""#))

            // A failure before any message is a plain error answer with its status.
            let unknown = try await http(address, "POST", "/nosuch/Foo/Bar", headers: [("Accept", "text/event-stream")], body: "{}")
            #expect(unknown.status == 404)
        }
    }

    @Test func authorizationIsPassedThrough() async throws {
        try await GatewayFixture.api { address, _, _ in
            let r = try await http(address, "POST", "/greeter/Greeter/Whoami", headers: [("Authorization", "Bearer abc.def")], body: "{}")
            #expect(r.status == 200)
            #expect(try object(r)["authorization"] as? String == "Bearer abc.def")
        }
    }

    @Test func corsFollowsTheConfiguration() async throws {
        var configuration = GatewayConfiguration(port: 0)
        configuration.cors = .allowing(["http://app.example"])
        try await GatewayFixture.api(configuration) { address, _, _ in
            let preflight = try await http(address, "OPTIONS", "/greeter/hello",
                                           headers: [("Origin", "http://app.example"), ("Access-Control-Request-Method", "POST"),
                                                     ("Access-Control-Request-Headers", "content-type, authorization")])
            #expect(preflight.status == 204)
            #expect(preflight.headers["access-control-allow-origin"] == "http://app.example")
            #expect(preflight.headers["access-control-allow-methods"]?.contains("POST") == true)
            #expect(preflight.headers["access-control-allow-headers"] == "content-type, authorization")
            let call = try await http(address, "POST", "/greeter/hello", headers: [("Origin", "http://app.example")], body: #"{"name":"C"}"#)
            #expect(call.headers["access-control-allow-origin"] == "http://app.example")
            let other = try await http(address, "POST", "/greeter/hello", headers: [("Origin", "http://evil.example")], body: #"{"name":"C"}"#)
            #expect(other.headers["access-control-allow-origin"] == nil)
        }
        // The default: no CORS headers at all.
        try await GatewayFixture.api { address, _, _ in
            let r = try await http(address, "OPTIONS", "/greeter/hello", headers: [("Origin", "http://app.example")])
            #expect(r.headers["access-control-allow-origin"] == nil)
        }
    }

    @Test func oversizedBodiesAndSlowCallsAndSlowClients() async throws {
        var configuration = GatewayConfiguration(port: 0)
        configuration.maxBodySize = 1024
        configuration.callTimeout = .milliseconds(300)
        configuration.requestReadTimeout = .milliseconds(500)
        try await GatewayFixture.api(configuration) { address, _, _ in
            let big = "{\"name\":\"" + String(repeating: "x", count: 2000) + "\"}"
            let r = try await http(address, "POST", "/greeter/hello", body: big)
            #expect(r.status == 413)
            #expect(try object(r)["code"] as? Int == 413)

            // Chunked, so no Content-Length gives it away: refused while reading.
            let chunked = try await RawConnection.connect(address)
            defer { chunked.close() }
            let chunk = String(repeating: "y", count: 1500)
            try await chunked.send("POST /greeter/hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                   + String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n0\r\n\r\n")
            _ = await chunked.waitClosed(within: .seconds(5))
            #expect(RawResponse.parse(chunked.received)?.status == 413, "\(chunked.text)")

            let slow = try await http(address, "POST", "/greeter/Greeter/Slow", body: "{}")
            #expect(slow.status == 408)
            #expect(try object(slow)["code"] as? Int == 408)

            // A client that sends its head a little at a time is cut off.
            let loris = try await RawConnection.connect(address)
            defer { loris.close() }
            try await loris.send("POST /greeter/hello HTTP/1.1\r\n")
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(200))
                try? await loris.send("X-Slow: 1\r\n")
            }
            #expect(await loris.waitClosed(within: .seconds(3)))

            // The gateway still answers afterwards.
            let ok = try await http(address, "POST", "/greeter/hello", body: #"{"name":"After"}"#)
            #expect(ok.status == 200)
        }
    }

    @Test func openAPIDocumentDescribesTheRegistry() async throws {
        try await GatewayFixture.api { address, _, _ in
            let r = try await http(address, "GET", "/openapi.json")
            #expect(r.status == 200)
            let doc = try object(r)
            #expect((doc["openapi"] as? String)?.hasPrefix("3.") == true)
            let paths = try #require(doc["paths"] as? [String: Any])
            #expect(paths["/rpc"] != nil)
            let hello = try #require((paths["/greeter/Greeter/Hello"] as? [String: Any])?["post"] as? [String: Any])
            let schema = try #require(((((hello["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"]
                as? [String: Any])?["schema"]) as? [String: Any])
            #expect(schema["type"] as? String == "object")
            #expect(((schema["properties"] as? [String: Any])?["name"] as? [String: Any])?["type"] as? String == "string")
            let reply = try #require((((((hello["responses"] as? [String: Any])?["200"] as? [String: Any])?["content"] as? [String: Any])?["application/json"]
                as? [String: Any])?["schema"]) as? [String: Any])
            #expect(((reply["properties"] as? [String: Any])?["message"] as? [String: Any])?["type"] as? String == "string")
            #expect(paths["/greeter/Greeter/Countdown"] != nil)
            // Every path resolves back to its endpoint.
            for path in paths.keys where path != "/rpc" {
                #expect(APIRoute.resolve(path: path) != nil, "\(path)")
            }
        }
    }
}

/// go-micro's path rules, on their own.
@Suite struct APIRouteTests {
    @Test func goMicroMapping() {
        #expect(APIRoute.resolve(path: "/greeter/hello") == APIRoute(service: "greeter", endpoint: "Greeter.Hello"))
        #expect(APIRoute.resolve(path: "/greeter/Greeter/Hello") == APIRoute(service: "greeter", endpoint: "Greeter.Hello"))
        #expect(APIRoute.resolve(path: "/v1/greeter/hello") == APIRoute(service: "v1.greeter", endpoint: "Greeter.Hello"))
        #expect(APIRoute.resolve(path: "/a/b/Foo/Bar") == APIRoute(service: "a.b", endpoint: "Foo.Bar"))
        #expect(APIRoute.resolve(path: "/greeter") == APIRoute(service: "greeter", endpoint: "Greeter.Call"))
        #expect(APIRoute.resolve(path: "/greeter/say-hello") == APIRoute(service: "greeter", endpoint: "Greeter.SayHello"))
        #expect(APIRoute.resolve(path: "/greeter/hello", namespace: "go.micro.api") == APIRoute(service: "go.micro.api.greeter", endpoint: "Greeter.Hello"))
        #expect(APIRoute.resolve(path: "/") == nil)
        #expect(APIRoute.resolve(path: "/greeter/../hello") == nil)
        #expect(APIRoute.resolve(path: "/greeter/%3Cb%3E") == nil)
        #expect(APIRoute.resolve(path: "/" + String(repeating: "a/", count: 40)) == nil)
        #expect(APIRoute.resolve(path: "/" + String(repeating: "a", count: 2000)) == nil)
    }
}
