import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MicroCore
import MicroGRPC
import NIOConcurrencyHelpers
import SwiftProtobuf
import Testing

extension GRPCTransportSuite {
    /// grpc.health.v1.Health reflecting the router's health, and server reflection v1.
    @Suite struct GRPCStandardServicesTests {
        @Test func healthCheckFollowsTheRoutersHealth() async throws {
            let healthy = Shared(true)
            let server = try await GRPCTestServer.start { router in
                router.setHealthCheck { healthy.value ? .serving : .notServing }
            }
            try await withNativeClient(server.address) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                func check(_ service: String) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
                    var request = Grpc_Health_V1_HealthCheckRequest()
                    request.service = service
                    return try await health.check(request).status
                }
                for service in ["", "greeter", "helloworld.Greeter", "greeter.Greeter", "greeter.Test"] {
                    #expect(try await check(service) == .serving, "\(service)")
                }
                let unknown = await caught { _ = try await check("nope.Nope") }
                #expect((unknown as? RPCError)?.code == .notFound)
                healthy.update { $0 = false }
                #expect(try await check("") == .notServing)
                #expect(try await check("helloworld.Greeter") == .notServing)
                let list = try await health.list(Grpc_Health_V1_HealthListRequest())
                #expect(list.statuses["helloworld.Greeter"]?.status == .notServing)
                #expect(list.statuses[""]?.status == .notServing)
            }
            await server.stop()
        }

        @Test func healthWatchSendsChangesAndNotServingOnShutdown() async throws {
            let healthy = Shared(true)
            var configuration = GRPCServerConfiguration()
            configuration.healthWatchInterval = .milliseconds(50)
            let server = try await GRPCTestServer.start(configuration: configuration) { router in
                router.setHealthCheck { healthy.value ? .serving : .notServing }
            }
            let seen = Shared<[Grpc_Health_V1_HealthCheckResponse.ServingStatus]>([])
            try await withNativeClient(server.address) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var request = Grpc_Health_V1_HealthCheckRequest()
                        request.service = "greeter"
                        try await health.watch(request) { response in
                            for try await m in response.messages { seen.update { $0.append(m.status) } }
                        }
                    }
                    #expect(await eventually { seen.value == [.serving] })
                    healthy.update { $0 = false }
                    #expect(await eventually { seen.value == [.serving, .notServing] })
                    healthy.update { $0 = true }
                    #expect(await eventually { seen.value == [.serving, .notServing, .serving] })
                    // Shutdown: the watch hears NOT_SERVING and ends, without holding the shutdown.
                    let start = ContinuousClock.now
                    await server.stop(gracePeriod: .seconds(5))
                    #expect(ContinuousClock.now - start < .seconds(2))
                    try await group.waitForAll()
                }
            }
            #expect(seen.value.last == .notServing, "\(seen.value)")
        }

        @Test func watchOfAnUnknownServiceSaysServiceUnknown() async throws {
            let server = try await GRPCTestServer.start()
            try await withNativeClient(server.address) { client in
                var request = Grpc_Health_V1_HealthCheckRequest()
                request.service = "nope"
                let first = try await Grpc_Health_V1_Health.Client(wrapping: client).watch(request) { response in
                    for try await m in response.messages { return m.status }
                    return .unknown
                }
                #expect(first == .serviceUnknown)
            }
            await server.stop()
        }

        @Test func reflectionV1ListsAndServesFiles() async throws {
            let server = try await GRPCTestServer.start()
            try await withNativeClient(server.address) { client in
                let reflection = Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
                var requests: [Grpc_Reflection_V1_ServerReflectionRequest] = []
                for build in [
                    { (r: inout Grpc_Reflection_V1_ServerReflectionRequest) in r.listServices = "" },
                    { r in r.fileContainingSymbol = "helloworld.Greeter.SayHello" },
                    { r in r.fileByFilename = "grpc/testing/test.proto" },
                    { r in r.fileContainingSymbol = "greeter.Greeter" },
                    { r in r.fileContainingSymbol = "no.Such" },
                ] as [(inout Grpc_Reflection_V1_ServerReflectionRequest) -> Void] {
                    var r = Grpc_Reflection_V1_ServerReflectionRequest()
                    r.host = "h"
                    build(&r)
                    requests.append(r)
                }
                let all = requests
                let responses = try await reflection.serverReflectionInfo(requestProducer: { writer in
                    try await writer.write(contentsOf: all)
                }) { response in
                    var all: [Grpc_Reflection_V1_ServerReflectionResponse] = []
                    for try await m in response.messages { all.append(m) }
                    return all
                }
                try #require(responses.count == 5)
                #expect(responses.allSatisfy { $0.validHost == "h" })
                let names = responses[0].listServicesResponse.service.map(\.name)
                #expect(names.contains("helloworld.Greeter") && names.contains("greeter.Greeter") && names.contains("grpc.health.v1.Health"))
                #expect(!names.contains("greeter.Test"), "Codable services have no descriptors to list")
                let greeterFiles = try responses[1].fileDescriptorResponse.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
                #expect(greeterFiles.first?.name == "helloworld.proto")
                let testFiles = try responses[2].fileDescriptorResponse.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
                #expect(Set(testFiles.map(\.name)) == ["grpc/testing/test.proto", "grpc/testing/empty.proto", "grpc/testing/messages.proto"])
                let alias = try responses[3].fileDescriptorResponse.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
                #expect(alias.first?.package == "greeter" && alias.first?.service.first?.name == "Greeter")
                #expect(alias.contains { $0.name == "helloworld.proto" })
                #expect(responses[4].errorResponse.errorCode == Int32(RPCError.Code.notFound.rawValue))
            }
            await server.stop()
        }

        @Test func standardServicesCanBeTurnedOff() async throws {
            var configuration = GRPCServerConfiguration()
            configuration.healthService = false
            configuration.reflection = false
            let server = try await GRPCTestServer.start(configuration: configuration)
            try await withNativeClient(server.address) { client in
                let error = await caught { _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(Grpc_Health_V1_HealthCheckRequest()) }
                #expect((error as? RPCError)?.code == .unimplemented)
            }
            await server.stop()
        }
    }
}
