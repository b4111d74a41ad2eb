import Foundation
import MicroCore
import SwiftProtobuf

extension ProtoDescriptorIndex {
    /// The descriptors generated with this module (helloworld, health, reflection, status, errors).
    static let bundled: ProtoDescriptorIndex = (try? ProtoDescriptorIndex(descriptorSet: GRPCDescriptorPool.bundled))
        ?? ProtoDescriptorIndex(files: [])

    /// This index plus the files of serialized FileDescriptorSets (unreadable sets are skipped).
    func adding(_ sets: [[UInt8]]) -> ProtoDescriptorIndex {
        guard !sets.isEmpty else { return self }
        let extra = sets.flatMap { (try? Google_Protobuf_FileDescriptorSet(serializedBytes: $0))?.file ?? [] }
        return ProtoDescriptorIndex(files: extra + files.keys.sorted().compactMap { files[$0] })
    }

    /// The registry shape of a message type: its fields (JSON names) from the descriptors when they
    /// define it, else ``Shape/of(_:)``'s.
    func shape<T>(of type: T.Type) -> Value {
        var value = Shape.of(T.self)
        if let m = T.self as? any SwiftProtobuf.Message.Type, message(m.protoMessageName) != nil {
            value.values = fieldValues(m.protoMessageName, depth: 0)
        }
        return value
    }

    private func fieldValues(_ messageName: String, depth: Int) -> [Value] {
        guard depth < 6, let m = message(messageName) else { return [] }
        return m.fields.map { f in
            let entry = f.type == .message ? message(f.typeName) : nil
            if let entry, entry.isMapEntry, entry.fields.count == 2 {
                return Value(name: f.jsonName, type: "map<\(typeName(entry.fields[0])),\(typeName(entry.fields[1]))>")
            }
            let nested = f.type == .message && !f.typeName.hasPrefix("google.protobuf.") ? fieldValues(f.typeName, depth: depth + 1) : []
            return Value(name: f.jsonName, type: (f.repeated ? "[]" : "") + typeName(f), values: nested)
        }
    }

    private func typeName(_ f: Field) -> String {
        switch f.type {
        case .message, .enum, .group: return f.typeName
        default: return String(describing: f.type)
        }
    }
}
