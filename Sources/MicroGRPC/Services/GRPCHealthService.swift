import GRPCCore
import MicroCore
import NIOCore

/// `grpc.health.v1.Health` reflecting the router's health (what `Debug.Health` and `/health`
/// report): the empty service name, the registered service name and every service the server
/// answers for are SERVING while the router is, NOT_SERVING otherwise and from the start of shutdown.
struct GRPCHealthService: GRPCBuiltinService {
    let name = "grpc.health.v1.Health"
    let dispatcher: GRPCServerDispatcher
    let interval: Duration

    typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    var methods: [String: GRPCBuiltinMethod] {
        [
            "Check": GRPCBuiltinMethod(type: .unary) { inbound, outbound, codec in
                let request = try await Self.single(Grpc_Health_V1_HealthCheckRequest.self, inbound, codec)
                guard let status = await status(of: request.service) else {
                    throw RPCError(code: .notFound, message: "unknown service \(request.service)")
                }
                var response = Grpc_Health_V1_HealthCheckResponse()
                response.status = status
                try await outbound.write(try codec.encode(response))
            },
            "List": GRPCBuiltinMethod(type: .unary) { inbound, outbound, codec in
                _ = try await Self.single(Grpc_Health_V1_HealthListRequest.self, inbound, codec)
                let overall = await status(of: "") ?? .unknown
                var response = Grpc_Health_V1_HealthListResponse()
                for service in services() {
                    var s = Grpc_Health_V1_HealthCheckResponse()
                    s.status = overall
                    response.statuses[service] = s
                }
                try await outbound.write(try codec.encode(response))
            },
            "Watch": GRPCBuiltinMethod(type: .serverStreaming) { inbound, outbound, codec in
                let request = try await Self.single(Grpc_Health_V1_HealthCheckRequest.self, inbound, codec)
                try await watch(request.service, outbound, codec)
            },
        ]
    }

    /// The names health answers for: "", the registered name, and every served service.
    func services() -> [String] {
        var names = dispatcher.servedServices
        if !dispatcher.serviceName.isEmpty { names.insert(dispatcher.serviceName) }
        names.insert("")
        return names.sorted()
    }

    /// The status of `service`; nil when the server does not know it.
    func status(of service: String) async -> Status? {
        guard service.isEmpty || service == dispatcher.serviceName || dispatcher.servedServices.contains(service) else { return nil }
        if dispatcher.isDraining { return .notServing }
        return await dispatcher.handler.health() == .serving ? .serving : .notServing
    }

    /// Sends the status now and on every change, until the caller leaves or the server shuts down
    /// (which it announces with NOT_SERVING).
    private func watch(_ service: String, _ outbound: MessageWriter, _ codec: any Codec) async throws {
        var last: Status?
        var sinceCheck = Duration.zero
        let tick = min(interval, .milliseconds(100))
        while true {
            if last == nil || sinceCheck >= interval || dispatcher.isDraining {
                sinceCheck = .zero
                let now = await status(of: service) ?? .serviceUnknown
                if now != last {
                    var response = Grpc_Health_V1_HealthCheckResponse()
                    response.status = now
                    try await outbound.write(try codec.encode(response))
                    last = now
                }
                if dispatcher.isDraining { return }
            }
            try await Task.sleep(for: tick)
            sinceCheck += tick
        }
    }

    static func single<M>(_ type: M.Type, _ inbound: MessageReader, _ codec: any Codec) async throws -> M {
        guard let first = try await inbound.next() else {
            throw RPCError(code: .unimplemented, message: "a unary method needs exactly one request message; got none")
        }
        return try codec.decode(M.self, from: first)
    }
}
