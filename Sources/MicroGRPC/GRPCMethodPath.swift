import GRPCCore

/// The HTTP/2 paths a gRPC method answers on: its proto full name (`/<package>.<Service>/<Method>`),
/// which native gRPC clients call, and go-micro's alias (`/<registered service name>.<Service>/<Method>`).
package struct GRPCMethodPath: Sendable, Hashable {
    /// The proto package, e.g. `helloworld` (empty when the .proto has none).
    package var protoPackage: String
    /// The proto service, e.g. `Greeter`.
    package var service: String
    /// The method, e.g. `SayHello`.
    package var method: String

    /// A method of `service` in `protoPackage`.
    package init(protoPackage: String, service: String, method: String) {
        self.protoPackage = protoPackage
        self.service = service
        self.method = method
    }

    /// The go-micro endpoint name, `Service.Method`.
    package var endpoint: String { "\(service).\(method)" }

    /// `/<package>.<Service>/<Method>`, or `/<Service>/<Method>` without a package.
    package var fullPath: String {
        protoPackage.isEmpty ? "/\(service)/\(method)" : "/\(protoPackage).\(service)/\(method)"
    }

    /// go-micro's alias: `/<registered service name>.<Service>/<Method>`.
    package func goMicroAlias(registeredName: String) -> String { "/\(registeredName).\(service)/\(method)" }

    /// Splits a request path (`/a.b.Service/Method`) into the dotted service part and the method;
    /// nil for anything that is not exactly two non-empty segments.
    package static func split(_ path: String) -> (qualifiedService: String, method: String)? {
        guard path.hasPrefix("/") else { return nil }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}

extension GRPCMethodPath {
    /// Endpoint metadata naming the proto service a method belongs to (`helloworld.Greeter`), so the
    /// server also answers on its full proto path.
    package static let serviceKey = "grpc.service"

    /// The path of a generated method descriptor (`helloworld.Greeter` / `SayHello`).
    package init(_ descriptor: MethodDescriptor) {
        let service = descriptor.service.fullyQualifiedService
        if let dot = service.lastIndex(of: ".") {
            self.init(protoPackage: String(service[..<dot]), service: String(service[service.index(after: dot)...]), method: descriptor.method)
        } else {
            self.init(protoPackage: "", service: service, method: descriptor.method)
        }
    }

    /// The fully qualified proto service, `helloworld.Greeter`.
    package var qualifiedService: String { protoPackage.isEmpty ? service : "\(protoPackage).\(service)" }

    /// The path a client uses for `endpoint` of the service registered as `service`: an endpoint
    /// starting with `/` is a path already; `Service.Method` is go-micro's alias
    /// `/<service>.Service/Method`; `pkg.Service.Method` is the proto path `/pkg.Service/Method`.
    package static func clientPath(service: String, endpoint: String) -> String {
        if endpoint.hasPrefix("/") { return endpoint }
        guard let dot = endpoint.lastIndex(of: ".") else { return "/\(service)/\(endpoint)" }
        let head = endpoint[..<dot], method = endpoint[endpoint.index(after: dot)...]
        if head.contains(".") || service.isEmpty { return "/\(head)/\(method)" }
        return "/\(service).\(head)/\(method)"
    }
}
