import SwiftProtobuf

/// The messages, enums and services of a set of proto files, indexed by full name for the
/// descriptor-driven transcoder (`ProtoJSONEncoder` / `ProtoJSONDecoder`) and for finding a
/// method from an endpoint name.
package struct ProtoDescriptorIndex: Sendable {
    typealias FieldType = Google_Protobuf_FieldDescriptorProto.TypeEnum

    /// One field of a message, resolved.
    struct Field: Sendable {
        var number: Int
        var name: String
        var jsonName: String
        var type: FieldType
        var repeated: Bool
        /// The full name of the message or enum type (no leading dot); empty for scalars.
        var typeName: String
        var oneof: Int?
        /// Whether a default value is still printed (message fields, oneof members, `optional`, proto2).
        var hasPresence: Bool
        /// Repeated scalars written packed.
        var packed: Bool
    }

    /// A message type.
    struct Message: Sendable {
        var fullName: String
        /// In declaration order (the order JSON is printed in).
        var fields: [Field]
        var byNumber: [Int: Int]
        /// By proto name and by JSON name.
        var byName: [String: Int]
        var oneofNames: [String]
        var isMapEntry: Bool
    }

    /// An enum type.
    struct Enum: Sendable {
        var fullName: String
        var byName: [String: Int32]
        /// The first name declared for each number.
        var byNumber: [Int32: String]
    }

    /// A method of a service the descriptors define.
    package struct Method: Sendable, Equatable {
        /// The service's full name, `helloworld.Greeter`.
        package var service: String
        /// The method's name, `SayHello`.
        package var name: String
        /// The request message's full name.
        package var input: String
        /// The response message's full name.
        package var output: String
        /// Whether the client sends a stream.
        package var clientStreaming: Bool
        /// Whether the server answers with a stream.
        package var serverStreaming: Bool
        /// The HTTP/2 path, `/helloworld.Greeter/SayHello`.
        package var path: String { "/\(service)/\(name)" }
    }

    private(set) var messages: [String: Message] = [:]
    private(set) var enums: [String: Enum] = [:]
    /// Every method, by service full name then method name.
    private(set) var services: [String: [String: Method]] = [:]
    /// The proto files indexed, by name.
    package private(set) var files: [String: Google_Protobuf_FileDescriptorProto] = [:]

    /// An index of `files` (later files of the same name are ignored).
    package init(files: [Google_Protobuf_FileDescriptorProto]) {
        for file in files where self.files[file.name] == nil {
            self.files[file.name] = file
            add(file)
        }
    }

    /// An index of a serialized `google.protobuf.FileDescriptorSet`.
    package init(descriptorSet bytes: [UInt8]) throws {
        let set: Google_Protobuf_FileDescriptorSet
        do { set = try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes) } catch {
            throw ProtoTranscodingError(.malformedProtobuf, "not a FileDescriptorSet: \(error)")
        }
        self.init(files: set.file)
    }

    /// The services defined, by full name, sorted.
    package var serviceNames: [String] { services.keys.sorted() }

    /// Whether the index defines message `fullName`.
    package func hasMessage(_ fullName: String) -> Bool { messages[Self.trimmed(fullName)] != nil }

    func message(_ fullName: String) -> Message? { messages[Self.trimmed(fullName)] }
    func enumType(_ fullName: String) -> Enum? { enums[Self.trimmed(fullName)] }

    static func trimmed(_ name: String) -> String { name.hasPrefix(".") ? String(name.dropFirst()) : name }

    /// The method an endpoint names: a path (`/pkg.Service/Method`), a full name
    /// (`pkg.Service.Method`) or go-micro's `Service.Method`, matched against the services' full
    /// names and then their last component. When several services match, the one in package
    /// `preferredPackage` wins (go-micro's alias of the registered name), else identical
    /// definitions are taken in name order; different ones are ambiguous.
    package func method(for endpoint: String, preferredPackage: String = "") throws(ProtoTranscodingError) -> Method {
        var servicePart: Substring, methodPart: Substring
        if let split = GRPCMethodPath.split(endpoint) {
            servicePart = Substring(split.qualifiedService)
            methodPart = Substring(split.method)
        } else if let dot = endpoint.lastIndex(of: "."), dot != endpoint.startIndex, endpoint.index(after: dot) != endpoint.endIndex {
            servicePart = endpoint[..<dot]
            methodPart = endpoint[endpoint.index(after: dot)...]
        } else {
            throw ProtoTranscodingError(.unknownType, "\(endpoint) is not Service.Method, package.Service.Method or /package.Service/Method")
        }
        let known = serviceNames.isEmpty ? "none" : serviceNames.joined(separator: ", ")
        var candidates = services[String(servicePart)].map { _ in [String(servicePart)] }
            ?? serviceNames.filter { $0.hasSuffix("." + servicePart) }
        guard !candidates.isEmpty else {
            throw ProtoTranscodingError(.unknownType, "unknown service \(servicePart) (the server describes: \(known))")
        }
        candidates = candidates.filter { services[$0]?[String(methodPart)] != nil }
        let methods = candidates.compactMap { services[$0]?[String(methodPart)] }
        guard let first = methods.first else {
            let names = Set(candidateServices(servicePart).flatMap { services[$0]?.keys.map { String($0) } ?? [] }).sorted()
            throw ProtoTranscodingError(.unknownType, "unknown method \(methodPart) of \(servicePart) (it has: \(names.joined(separator: ", ")))")
        }
        if methods.count == 1 { return first }
        if let preferred = methods.first(where: { $0.service == "\(preferredPackage).\(servicePart)" }) { return preferred }
        let same = methods.allSatisfy { $0.input == first.input && $0.output == first.output
            && $0.clientStreaming == first.clientStreaming && $0.serverStreaming == first.serverStreaming }
        guard same else {
            throw ProtoTranscodingError(.unknownType, "\(endpoint) is ambiguous: \(methods.map(\.service).joined(separator: ", ")) all define \(methodPart); name one in full")
        }
        return first
    }

    private func candidateServices(_ part: Substring) -> [String] {
        services[String(part)] != nil ? [String(part)] : serviceNames.filter { $0.hasSuffix("." + part) }
    }

    // MARK: Building

    private mutating func add(_ file: Google_Protobuf_FileDescriptorProto) {
        let prefix = file.package.isEmpty ? "" : file.package + "."
        let proto2 = file.syntax.isEmpty || file.syntax == "proto2"
        for m in file.messageType { addMessage(m, scope: prefix, proto2: proto2) }
        for e in file.enumType { addEnum(e, scope: prefix) }
        for s in file.service {
            let name = prefix + s.name
            var methods: [String: Method] = [:]
            for m in s.method {
                methods[m.name] = Method(service: name, name: m.name, input: Self.trimmed(m.inputType), output: Self.trimmed(m.outputType),
                                         clientStreaming: m.clientStreaming, serverStreaming: m.serverStreaming)
            }
            services[name] = methods
        }
    }

    private mutating func addEnum(_ e: Google_Protobuf_EnumDescriptorProto, scope: String) {
        var byName: [String: Int32] = [:], byNumber: [Int32: String] = [:]
        for v in e.value {
            byName[v.name] = v.number
            if byNumber[v.number] == nil { byNumber[v.number] = v.name }
        }
        enums[scope + e.name] = Enum(fullName: scope + e.name, byName: byName, byNumber: byNumber)
    }

    private mutating func addMessage(_ m: Google_Protobuf_DescriptorProto, scope: String, proto2: Bool) {
        let full = scope + m.name
        var fields: [Field] = []
        var byNumber: [Int: Int] = [:], byName: [String: Int] = [:]
        for f in m.field {
            let repeated = f.label == .repeated
            let scalar = f.type != .message && f.type != .group && f.type != .string && f.type != .bytes
            let packed = repeated && scalar && (f.options.hasPacked ? f.options.packed : !proto2)
            let oneof: Int? = f.hasOneofIndex && !f.proto3Optional ? Int(f.oneofIndex) : nil
            let presence = !repeated && (f.type == .message || f.type == .group || f.hasOneofIndex || f.proto3Optional || proto2)
            let field = Field(number: Int(f.number), name: f.name, jsonName: f.hasJsonName && !f.jsonName.isEmpty ? f.jsonName : Self.jsonName(f.name),
                              type: f.type, repeated: repeated, typeName: Self.trimmed(f.typeName), oneof: oneof,
                              hasPresence: presence, packed: packed)
            byNumber[field.number] = fields.count
            byName[field.name] = fields.count
            if byName[field.jsonName] == nil { byName[field.jsonName] = fields.count }
            fields.append(field)
        }
        messages[full] = Message(fullName: full, fields: fields, byNumber: byNumber, byName: byName,
                                 oneofNames: m.oneofDecl.map(\.name), isMapEntry: m.options.mapEntry)
        for n in m.nestedType { addMessage(n, scope: full + ".", proto2: proto2) }
        for e in m.enumType { addEnum(e, scope: full + ".") }
    }

    /// protoc's default JSON name: underscores dropped, the letter after each one upper-cased.
    static func jsonName(_ name: String) -> String {
        var out = "", upper = false
        for c in name {
            if c == "_" { upper = true; continue }
            if upper { out += c.uppercased() } else { out.append(c) }
            upper = false
        }
        return out
    }
}
