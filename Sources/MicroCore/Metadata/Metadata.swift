/// Key/value pairs that travel with a call or message, matched case-insensitively as go-micro's are.
///
/// Keys are stored lowercased so lookups do not depend on how HTTP or Go canonicalised them.
public struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    private var storage: [String: String]

    /// An empty set of metadata.
    public init() { storage = [:] }

    /// Metadata from a dictionary; keys are lowercased.
    public init(_ values: [String: String]) {
        storage = [:]
        storage.reserveCapacity(values.count)
        for (k, v) in values { storage[k.lowercased()] = v }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        storage = [:]
        for (k, v) in elements { storage[k.lowercased()] = v }
    }

    /// The value for a key, matched case-insensitively.
    public subscript(key: String) -> String? {
        get { storage[key.lowercased()] }
        set { storage[key.lowercased()] = newValue }
    }

    /// The value for a key already in lowercase (a constant such as `authorization`), found without
    /// lowercasing it again.
    package subscript(lowercased key: String) -> String? {
        storage[key]
    }

    /// How many pairs there are.
    public var count: Int { storage.count }
    /// True when there are no pairs.
    public var isEmpty: Bool { storage.isEmpty }
    /// The pairs as a plain dictionary (lowercased keys).
    public var dictionary: [String: String] { storage }

    /// This metadata with `other`'s pairs added; `other` wins on a clash.
    public func merging(_ other: Metadata) -> Metadata {
        var copy = self
        for (k, v) in other.storage { copy.storage[k] = v }
        return copy
    }

    public func makeIterator() -> Dictionary<String, String>.Iterator { storage.makeIterator() }

    public var description: String { storage.description }
}
