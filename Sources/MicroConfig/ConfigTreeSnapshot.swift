import Configuration
import MicroCore

/// A swift-configuration snapshot of a ``ConfigTree``: a key's components walk the tree's objects,
/// and the value there converts to the requested type as swift-configuration's JSON files do (an
/// integral number reads as an int or a double, an array of strings as a string array, a base64
/// string as bytes); any other value at the key is a type mismatch.
public struct ConfigTreeSnapshot: ConfigSnapshot {
    public let providerName: String
    /// The tree read.
    public let tree: ConfigTree
    /// The tree's nodes by key, so a read is one lookup.
    let index: ConfigTreeIndex

    /// A snapshot of `tree` named `providerName` in access reports.
    public init(providerName: String, tree: ConfigTree) {
        self.providerName = providerName
        self.tree = tree
        self.index = ConfigTreeIndex(tree)
    }

    public func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        try Self.value(forKey: key, type: type, in: index)
    }

    /// The value at `key` of the tree `index` indexes, converted to `type`.
    static func value(forKey key: AbsoluteConfigKey, type: ConfigType, in index: ConfigTreeIndex) throws -> LookupResult {
        guard let entry = index.entry(key.components) else {
            return LookupResult(encodedKey: key.description, value: nil)
        }
        // The encoded key computed once is the key's description unless the key carries a context.
        let encodedKey = key.context.isEmpty ? entry.encodedKey : key.description
        let node = entry.node
        if case .null = node { return LookupResult(encodedKey: encodedKey, value: nil) }
        guard let content = Self.content(node, as: type) else {
            throw ConfigError(.typeMismatch, "'\(encodedKey)' is not a \(type.rawValue)")
        }
        return LookupResult(encodedKey: encodedKey, value: ConfigValue(content, isSecret: false))
    }

    static func content(_ node: ConfigNode, as type: ConfigType) -> ConfigContent? {
        switch type {
        case .string: return string(node).map(ConfigContent.string)
        case .int: return int(node).map(ConfigContent.int)
        case .double: return double(node).map(ConfigContent.double)
        case .bool: return bool(node).map(ConfigContent.bool)
        case .bytes: return bytes(node).map(ConfigContent.bytes)
        case .stringArray: return array(node, string).map(ConfigContent.stringArray)
        case .intArray: return array(node, int).map(ConfigContent.intArray)
        case .doubleArray: return array(node, double).map(ConfigContent.doubleArray)
        case .boolArray: return array(node, bool).map(ConfigContent.boolArray)
        case .byteChunkArray: return array(node, bytes).map(ConfigContent.byteChunkArray)
        }
    }

    private static func string(_ node: ConfigNode) -> String? {
        if case .string(let value) = node { return value }
        return nil
    }

    private static func int(_ node: ConfigNode) -> Int? {
        switch node {
        case .int(let value): return value
        case .double(let value): return Int(exactly: value)
        default: return nil
        }
    }

    private static func double(_ node: ConfigNode) -> Double? {
        switch node {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    private static func bool(_ node: ConfigNode) -> Bool? {
        if case .bool(let value) = node { return value }
        return nil
    }

    private static func bytes(_ node: ConfigNode) -> [UInt8]? {
        string(node).flatMap { ConfigBytesFromBase64StringDecoder().decode($0) }
    }

    private static func array<T>(_ node: ConfigNode, _ element: (ConfigNode) -> T?) -> [T]? {
        guard case .array(let elements) = node else { return nil }
        var values: [T] = []
        values.reserveCapacity(elements.count)
        for node in elements {
            guard let value = element(node) else { return nil }
            values.append(value)
        }
        return values
    }
}
