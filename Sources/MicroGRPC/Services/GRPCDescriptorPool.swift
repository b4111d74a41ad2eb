import Foundation
import SwiftProtobuf

/// The proto files a server can describe (for reflection): indexed by file name and by the
/// symbols they define (messages, enums, services, methods).
final class GRPCDescriptorPool: Sendable {
    /// The descriptor set generated with this module (helloworld, health, reflection, status, errors
    /// and their imports).
    static let bundled: [UInt8] = Array(Data(base64Encoded: MicroGRPCDescriptors.base64, options: .ignoreUnknownCharacters) ?? Data())

    private let files: [String: Google_Protobuf_FileDescriptorProto]
    private let symbols: [String: String]
    /// Fully qualified service name → the file that defines it.
    let services: [String: String]

    init(sets: [[UInt8]]) {
        var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
        for bytes in sets {
            guard let set = try? Google_Protobuf_FileDescriptorSet(serializedBytes: bytes) else { continue }
            for file in set.file where files[file.name] == nil { files[file.name] = file }
        }
        if let v1 = files["grpc/reflection/v1/reflection.proto"] {
            let alpha = Self.renamed(v1, from: "grpc.reflection.v1", to: "grpc.reflection.v1alpha",
                                     file: "grpc/reflection/v1alpha/reflection.proto")
            files[alpha.name] = files[alpha.name] ?? alpha
        }
        var symbols: [String: String] = [:]
        var services: [String: String] = [:]
        for file in files.values {
            let prefix = file.package.isEmpty ? "" : file.package + "."
            func addMessage(_ m: Google_Protobuf_DescriptorProto, _ scope: String) {
                let name = scope + m.name
                symbols[name] = file.name
                for f in m.field { symbols[name + "." + f.name] = file.name }
                for e in m.enumType { symbols[name + "." + e.name] = file.name }
                for n in m.nestedType { addMessage(n, name + ".") }
            }
            if !file.package.isEmpty { symbols[file.package] = symbols[file.package] ?? file.name }
            for m in file.messageType { addMessage(m, prefix) }
            for e in file.enumType { symbols[prefix + e.name] = file.name }
            for s in file.service {
                symbols[prefix + s.name] = file.name
                services[prefix + s.name] = file.name
                for m in s.method { symbols[prefix + s.name + "." + m.name] = file.name }
            }
            for x in file.extension { symbols[prefix + x.name] = file.name }
        }
        self.files = files
        self.symbols = symbols
        self.services = services
    }

    /// The file named `name`.
    func file(named name: String) -> Google_Protobuf_FileDescriptorProto? { files[name] }

    /// The file defining `symbol` (a leading dot is ignored).
    func file(containing symbol: String) -> Google_Protobuf_FileDescriptorProto? {
        let s = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
        return symbols[s].flatMap { files[$0] }
    }

    /// The service `name` describes.
    func service(_ name: String) -> Google_Protobuf_ServiceDescriptorProto? {
        guard let file = services[name].flatMap({ files[$0] }) else { return nil }
        let short = name.split(separator: ".").last.map(String.init) ?? name
        return file.service.first { $0.name == short }
    }

    /// `file` then every file it imports, transitively, each once, serialized.
    func withDependencies(_ file: Google_Protobuf_FileDescriptorProto,
                          extra: [String: Google_Protobuf_FileDescriptorProto] = [:]) -> [Data] {
        var out: [Data] = []
        var seen: Set<String> = []
        var queue = [file]
        while let next = queue.first {
            queue.removeFirst()
            guard seen.insert(next.name).inserted else { continue }
            if let data = try? next.serializedData() { out.append(data) }
            for dep in next.dependency { if let d = files[dep] ?? extra[dep] { queue.append(d) } }
        }
        return out
    }

    /// A copy of `file` under another package (every type reference renamed with it).
    static func renamed(_ file: Google_Protobuf_FileDescriptorProto, from: String, to: String,
                        file name: String) -> Google_Protobuf_FileDescriptorProto {
        var copy = file
        copy.name = name
        copy.package = to
        let old = "." + from + ".", new = "." + to + "."
        func fix(_ type: String) -> String { type.hasPrefix(old) ? new + type.dropFirst(old.count) : type }
        func fixMessage(_ m: inout Google_Protobuf_DescriptorProto) {
            for i in m.field.indices where m.field[i].hasTypeName { m.field[i].typeName = fix(m.field[i].typeName) }
            for i in m.nestedType.indices { fixMessage(&m.nestedType[i]) }
        }
        for i in copy.messageType.indices { fixMessage(&copy.messageType[i]) }
        for s in copy.service.indices {
            for m in copy.service[s].method.indices {
                copy.service[s].method[m].inputType = fix(copy.service[s].method[m].inputType)
                copy.service[s].method[m].outputType = fix(copy.service[s].method[m].outputType)
            }
        }
        return copy
    }

    /// A file declaring `service` again as `package.Service` (go-micro's alias path), importing the
    /// file that defines its messages; nil when `package` is not a proto package name.
    func alias(of service: String, package: String) -> Google_Protobuf_FileDescriptorProto? {
        guard Self.isPackageName(package), let original = self.service(service), let source = services[service] else { return nil }
        var file = Google_Protobuf_FileDescriptorProto()
        file.name = "micro/alias/\(package)/\(original.name).proto"
        file.package = package
        file.syntax = "proto3"
        file.dependency = [source]
        file.service = [original]
        return file
    }

    static func isPackageName(_ s: String) -> Bool {
        guard !s.isEmpty else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            guard let first = part.first, first.isLetter || first == "_" else { return false }
            return part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        }
    }
}
