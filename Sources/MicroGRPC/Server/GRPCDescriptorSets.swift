import MicroCore

/// The serialized `google.protobuf.FileDescriptorSet`s a router carries for gRPC server reflection
/// (a server extension: the core router stores it without knowing what it is).
public enum GRPCDescriptorSets: ExtensionKey {
    /// The sets, in the order they were added.
    public typealias Value = [[UInt8]]
}

extension Router {
    /// Adds a serialized `google.protobuf.FileDescriptorSet` describing protobuf endpoints (a generated
    /// `…Descriptors` set): the gRPC transport serves it over server reflection. Add it before serving.
    public func addDescriptorSet(_ bytes: [UInt8]) {
        updateExtensions { $0[GRPCDescriptorSets.self] = ($0[GRPCDescriptorSets.self] ?? []) + [bytes] }
    }

    /// The descriptor sets added with ``addDescriptorSet(_:)``.
    public var descriptorSets: [[UInt8]] {
        extensions[GRPCDescriptorSets.self] ?? []
    }
}
