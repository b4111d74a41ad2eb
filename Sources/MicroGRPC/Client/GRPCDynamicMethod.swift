import MicroCore
import NIOCore

/// A gRPC method found through a node's server reflection, with the descriptors to call it with
/// JSON: requests are transcoded to binary protobuf, responses back to JSON. This is how
/// `micro call` reaches gRPC servers that are not Micro services (and so speak only protobuf).
package struct GRPCDynamicMethod: Sendable {
    /// The method (its path, request and response types, streaming kinds).
    package let method: ProtoDescriptorIndex.Method
    /// The descriptors the node served.
    package let index: ProtoDescriptorIndex
    /// Options that pin the node that described the method (a `.node(id)` filter) and send protobuf.
    package let options: CallOptions

    /// The method `endpoint` names on a gRPC node of `service`, when the call should go through
    /// descriptors: the service has gRPC nodes, its registration does not list `endpoint` (a Micro
    /// service lists its endpoints and takes JSON as is), and the node serves reflection. Nil
    /// otherwise (call with JSON as usual: go-micro's gRPC server accepts `application/grpc+json`).
    /// A method the descriptors lack is a 404 naming it.
    package static func resolve(client: Client, service: String, endpoint: String, options: CallOptions) async throws -> GRPCDynamicMethod? {
        // Not found in the registry: the plain call reports that.
        guard let records = try? await client.selector.cache.getService(service) else { return nil }
        if records.contains(where: { r in r.endpoints.contains { $0.name == endpoint } }) { return nil }
        let nodes = records.flatMap(\.nodes).filter { $0.metadata["protocol"] == "grpc" }
        guard !nodes.isEmpty else { return nil }
        // The first node that answers (one that cannot be reached is skipped, as a call would).
        var found: (options: CallOptions, reflection: GRPCReflectionClient, version: String, listed: [String])?
        var unreachable: (any Error)?
        for node in nodes.prefix(3) {
            var pinned = options
            pinned.filters.append(.node(node.id))
            let reflection = GRPCReflectionClient(client: client, service: service, options: pinned)
            do {
                guard let (version, listed) = try await reflection.listServices() else { return nil }
                found = (pinned, reflection, version, listed)
                break
            } catch let e as MicroError where e.code == 503 {
                unreachable = e
            }
        }
        guard let (pinnedOptions, reflection, version, listed) = found else { throw unreachable ?? MicroError.unavailable("go.micro.client", "no node of \(service) answered") }
        var pinned = pinnedOptions
        let wanted = try symbols(for: endpoint, among: listed, service: service)
        let files = try await reflection.files(containing: wanted, version: version)
        let index = ProtoDescriptorIndex(files: files)
        let method: ProtoDescriptorIndex.Method
        do { method = try index.method(for: endpoint, preferredPackage: service) } catch {
            throw MicroError.notFound("go.micro.client", "\(service) \(endpoint): \(error.message)")
        }
        for type in [method.input, method.output] where !index.hasMessage(type) && !type.hasPrefix("google.protobuf.") {
            throw MicroError.internalServerError("go.micro.client", "\(service) \(endpoint): the server's reflection lacks message \(type)")
        }
        pinned.contentType = "application/protobuf"
        return GRPCDynamicMethod(method: method, index: index, options: pinned)
    }

    /// The listed services `endpoint` may belong to.
    static func symbols(for endpoint: String, among listed: [String], service: String) throws -> [String] {
        let servicePart: String
        if let split = GRPCMethodPath.split(endpoint) {
            servicePart = split.qualifiedService
        } else if let dot = endpoint.lastIndex(of: "."), dot != endpoint.startIndex {
            servicePart = String(endpoint[..<dot])
        } else {
            throw MicroError.badRequest("go.micro.client", "\(endpoint) is not Service.Method, package.Service.Method or /package.Service/Method")
        }
        let matches = listed.filter { $0 == servicePart || $0.hasSuffix("." + servicePart) }
        guard !matches.isEmpty else {
            let names = listed.filter { !$0.hasPrefix("grpc.reflection.") && !$0.hasPrefix("grpc.health.") }.sorted()
            throw MicroError.notFound("go.micro.client",
                                      "\(service) \(endpoint): unknown service \(servicePart) (the server lists: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        return matches.sorted()
    }

    /// The request JSON as binary protobuf; a JSON problem is a 400 naming the field.
    package func encodeRequest(_ json: String) throws -> ByteBuffer {
        do {
            return ByteBuffer(bytes: try ProtoJSONEncoder(index: index).encode(json: json, as: method.input))
        } catch {
            throw MicroError.badRequest("go.micro.client", "\(method.input): \(error.description)")
        }
    }

    /// A response message as JSON; a malformed one is a 500.
    package func decodeResponse(_ body: ByteBuffer) throws -> String {
        do {
            return try ProtoJSONDecoder(index: index).decode(Array(body.readableBytesView), as: method.output)
        } catch {
            throw MicroError.internalServerError("go.micro.client", "\(method.output) from the server: \(error.description)")
        }
    }
}
