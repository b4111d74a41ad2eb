import ArgumentParser
import Micro
import MicroGRPC

/// `micro call SERVICE ENDPOINT [JSON | - | @FILE]`: one request (the argument, stdin or a file), the
/// JSON response on stdout. A gRPC server
/// that is not a Micro service is called in protobuf, converted through its reflection's descriptors.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Call an endpoint with a JSON request and print the JSON response.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String
    @Argument(help: "Endpoint, e.g. Greeter.Hello.") var endpoint: String
    @Argument(help: "Request JSON (default {}); - reads it from stdin, @FILE from a file.") var request: String = "{}"
    @Option(name: .customLong("metadata"), help: "Metadata key=value (repeatable).") var metadata: [String] = []
    @Option(help: "Call this address directly instead of looking the service up.") var address: String?

    func run() async throws {
        try await runReporting {
            let body = try MessageInput.body(request)
            try await global.withClient { client in
                var options = global.callOptions
                options.address = address
                options.metadata = options.metadata.merging(try parseMetadata(metadata))
                // A gRPC server that is not a Micro service: JSON through the descriptors its reflection serves.
                if address == nil, let dynamic = try await GRPCDynamicMethod.resolve(client: client, service: service, endpoint: endpoint, options: options) {
                    let response = try await client.callRaw(service, dynamic.method.path, body: try dynamic.encodeRequest(String(buffer: body)), options: dynamic.options)
                    try emit(try dynamic.decodeResponse(response.body))
                    return
                }
                let response = try await client.callRaw(service, endpoint, body: body, options: options)
                try emit(String(buffer: response.body))
            }
        }
    }
}

/// Parses `key=value` pairs.
func parseMetadata(_ pairs: [String]) throws -> Metadata {
    var m = Metadata()
    for p in pairs {
        guard let eq = p.firstIndex(of: "="), eq != p.startIndex else { throw ValidationError("metadata must be key=value: \(p)") }
        m[String(p[..<eq])] = String(p[p.index(after: eq)...])
    }
    return m
}
