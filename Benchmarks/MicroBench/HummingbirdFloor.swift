import Hummingbird
import NIOCore

/// The floor under `micro api`: a Hummingbird 2 server (the same server setup the gateway uses) whose
/// only work is to read the request body and answer a fixed JSON reply. What it cannot beat, the
/// gateway cannot either; the gap between it and the gateway is the gateway's own work and the call.
struct HummingbirdFloor: HTTPResponder {
    typealias Context = BasicRequestContext
    static let reply = ByteBuffer(string: #"{"message":"Hello world"}"#)

    func respond(to request: Request, context: Context) async throws -> Response {
        _ = try await request.body.collect(upTo: 1 << 20)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.reply))
    }

    /// Serves on 127.0.0.1 (any free port) until the task is cancelled; `onRunning` learns the port.
    static func run(onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        let app = Application(responder: HummingbirdFloor(), server: .http1(),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
                              onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) })
        try await app.run()
    }
}
