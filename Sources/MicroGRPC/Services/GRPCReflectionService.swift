import Foundation
import GRPCCore
import MicroCore
import SwiftProtobuf

/// gRPC server reflection (`grpc.reflection.v1` and the older `v1alpha` that grpcurl 1.8 asks),
/// so `grpcurl list` and `describe` work: lists the protobuf services the server answers for
/// (their proto names and go-micro aliases, plus health and reflection) and serves the proto files
/// that define them.
struct GRPCReflectionService: GRPCBuiltinService {
    static let names = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]

    let name: String
    let pool: GRPCDescriptorPool
    let dispatcher: GRPCServerDispatcher

    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    var methods: [String: GRPCBuiltinMethod] {
        ["ServerReflectionInfo": GRPCBuiltinMethod(type: .bidirectionalStreaming) { inbound, outbound, codec in
            for try await message in inbound {
                let request = try codec.decode(Request.self, from: message)
                try await outbound.write(try codec.encode(answer(request)))
            }
        }]
    }

    /// Go-micro alias files for the protobuf services served (`greeter.Greeter` for `helloworld.Greeter`).
    private func aliases() -> [String: Google_Protobuf_FileDescriptorProto] {
        let served = dispatcher.servedServices
        var out: [String: Google_Protobuf_FileDescriptorProto] = [:]
        let package = dispatcher.serviceName
        for service in served where pool.services[service] != nil {
            let short = service.split(separator: ".").last.map(String.init) ?? service
            let alias = "\(package).\(short)"
            guard alias != service, served.contains(alias), let file = pool.alias(of: service, package: package) else { continue }
            out[alias] = file
        }
        return out
    }

    func answer(_ request: Request) -> Response {
        var response = Response()
        response.validHost = request.host
        response.originalRequest = request
        let aliases = aliases()
        func files(_ file: Google_Protobuf_FileDescriptorProto?, _ what: String) {
            guard let file else {
                var e = Grpc_Reflection_V1_ErrorResponse()
                e.errorCode = Int32(RPCError.Code.notFound.rawValue)
                e.errorMessage = "\(what) not found"
                response.errorResponse = e
                return
            }
            var r = Grpc_Reflection_V1_FileDescriptorResponse()
            r.fileDescriptorProto = pool.withDependencies(file, extra: Dictionary(uniqueKeysWithValues: aliases.values.map { ($0.name, $0) }))
            response.fileDescriptorResponse = r
        }
        switch request.messageRequest {
        case .listServices?:
            var list = Grpc_Reflection_V1_ListServiceResponse()
            let served = dispatcher.servedServices
            let names = served.filter { pool.services[$0] != nil || aliases[$0] != nil }.sorted()
            list.service = names.map { var s = Grpc_Reflection_V1_ServiceResponse(); s.name = $0; return s }
            response.listServicesResponse = list
        case .fileByFilename(let name)?:
            files(pool.file(named: name) ?? aliases.values.first { $0.name == name }, "file \(name)")
        case .fileContainingSymbol(let symbol)?:
            let alias = aliases.first { symbol == $0.key || symbol.hasPrefix($0.key + ".") }?.value
            files(alias ?? pool.file(containing: symbol), "symbol \(symbol)")
        case .fileContainingExtension(let ext)?:
            files(nil, "extension \(ext.extensionNumber) of \(ext.containingType)")
        case .allExtensionNumbersOfType(let type)?:
            if pool.file(containing: type) != nil {
                var r = Grpc_Reflection_V1_ExtensionNumberResponse()
                r.baseTypeName = type
                response.allExtensionNumbersResponse = r
            } else {
                files(nil, "type \(type)")
            }
        case nil:
            var e = Grpc_Reflection_V1_ErrorResponse()
            e.errorCode = Int32(RPCError.Code.invalidArgument.rawValue)
            e.errorMessage = "empty reflection request"
            response.errorResponse = e
        }
        return response
    }
}
