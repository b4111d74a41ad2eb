import MicroCore

extension EnginePlugin {
    /// The `grpc` transport: endpoints over gRPC (HTTP/2), with health and reflection.
    public static let grpc = EnginePlugin("grpc") { engines in
        engines.add(ClientTransportFactory("grpc") { _ in GRPCClientTransport() })
        engines.add(ServerTransportFactory("grpc") { _ in GRPCServerTransport() })
    }
}
