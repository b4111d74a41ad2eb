import Foundation
import MicroCore
import SwiftProtobuf

/// Asks a gRPC server's reflection service (`grpc.reflection.v1`, falling back to `v1alpha`) which
/// services it serves and for the proto files that define them, through a Micro `Client`.
///
/// `options` pick the node (e.g. a `.node(id)` filter) and bound each exchange (`timeout`).
package struct GRPCReflectionClient: Sendable {
    /// The client calls go through.
    package let client: Client
    /// The registered service name.
    package let service: String
    /// Options for the reflection streams (content type and retries are set here).
    package let options: CallOptions
    /// At most this many proto files are fetched (imports included).
    package var maxFiles: Int

    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    static let versions = ["grpc.reflection.v1", "grpc.reflection.v1alpha"]

    /// A reflection client for the nodes of `service` that `options` select.
    package init(client: Client, service: String, options: CallOptions, maxFiles: Int = 512) {
        var o = options
        o.contentType = "application/protobuf"
        o.retries = 0
        o.streamTimeout = options.timeout
        self.client = client
        self.service = service
        self.options = o
        self.maxFiles = maxFiles
    }

    /// The services the server lists and the reflection package that answered (`grpc.reflection.v1`,
    /// else `v1alpha`); nil when it serves neither (the calls fail with UNIMPLEMENTED or not found).
    package func listServices() async throws -> (version: String, services: [String])? {
        for version in Self.versions {
            do {
                let responses = try await exchange(version, [Self.listRequest()])
                return (version, responses.first?.listServicesResponse.service.map(\.name) ?? [])
            } catch let e as MicroError where e.code == 501 || e.code == 404 {
                continue
            }
        }
        return nil
    }

    /// The files defining `symbols` (services, messages) and every file they import; symbols the
    /// server does not know are left out.
    package func files(containing symbols: [String], version: String) async throws -> [Google_Protobuf_FileDescriptorProto] {
        var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
        var order: [String] = []
        func take(_ responses: [Response]) throws {
            for r in responses {
                guard case .fileDescriptorResponse(let f)? = r.messageResponse else { continue }
                for data in f.fileDescriptorProto {
                    let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: data)
                    if files[file.name] == nil {
                        guard files.count < maxFiles else {
                            throw MicroError.internalServerError("go.micro.client", "reflection: more than \(maxFiles) proto files")
                        }
                        files[file.name] = file
                        order.append(file.name)
                    }
                }
            }
        }
        try take(try await exchange(version, symbols.map { s in var r = Request(); r.fileContainingSymbol = s; return r }))
        // Imports the server did not send along (each asked for once).
        var asked = Set<String>()
        var missing = Set(files.values.flatMap(\.dependency)).subtracting(files.keys)
        while !missing.isEmpty {
            asked.formUnion(missing)
            try take(try await exchange(version, missing.sorted().map { n in var r = Request(); r.fileByFilename = n; return r }))
            missing = Set(files.values.flatMap(\.dependency)).subtracting(files.keys).subtracting(asked)
        }
        return order.compactMap { files[$0] }
    }

    private static func listRequest() -> Request {
        var r = Request()
        r.listServices = "*"
        return r
    }

    /// One reflection stream: each request in turn, one response each.
    private func exchange(_ version: String, _ requests: [Request]) async throws -> [Response] {
        let stream = try await client.openStream(service, "/\(version).ServerReflection/ServerReflectionInfo",
                                                 sending: Request.self, receiving: Response.self, options: options)
        var responses: [Response] = []
        do {
            for request in requests {
                try await stream.send(request)
                guard let response = try await stream.receive() else {
                    throw MicroError.internalServerError("go.micro.client", "reflection: the stream ended early")
                }
                responses.append(response)
            }
            try await stream.finishSending()
            while try await stream.receive() != nil {}
        } catch {
            stream.cancel()
            throw error
        }
        return responses
    }
}
