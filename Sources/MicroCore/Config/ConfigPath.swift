/// Where a value sits in the configuration tree: dot-separated components of `[A-Za-z0-9_-]`
/// (`greeter.greeting`); the empty path is the root. Validated once, at construction.
public struct ConfigPath: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// The longest component, in bytes.
    public static let maxComponentBytes = 128
    /// The most components.
    public static let maxComponents = 32

    /// The components, from the root.
    public let components: [String]

    /// The root.
    public static let root = ConfigPath(validated: [])

    /// Parses `text` (`a.b.c`; empty for the root); throws ``ConfigError/Code/invalidPath``.
    public init(_ text: String) throws(ConfigError) {
        if text.isEmpty {
            self.init(validated: [])
            return
        }
        try self.init(components: text.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
    }

    /// A path of `components`; throws ``ConfigError/Code/invalidPath`` unless each is 1 to
    /// ``maxComponentBytes`` of `[A-Za-z0-9_-]` and there are at most ``maxComponents``.
    public init(components: [String]) throws(ConfigError) {
        guard components.count <= Self.maxComponents else {
            throw ConfigError(.invalidPath, "more than \(Self.maxComponents) components")
        }
        for component in components where !Self.isValid(component) {
            throw ConfigError(.invalidPath, "component '\(StoreKey.printable(component))' is not 1 to \(Self.maxComponentBytes) of [A-Za-z0-9_-]")
        }
        self.init(validated: components)
    }

    private init(validated: [String]) {
        components = validated
    }

    /// True for a component of 1 to ``maxComponentBytes`` of `[A-Za-z0-9_-]`.
    public static func isValid(_ component: String) -> Bool {
        let utf8 = component.utf8
        guard !utf8.isEmpty, utf8.count <= maxComponentBytes else { return false }
        return utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
    }

    /// This path followed by `other`.
    public func appending(_ other: ConfigPath) throws(ConfigError) -> ConfigPath {
        try ConfigPath(components: components + other.components)
    }

    /// True for the root.
    public var isRoot: Bool { components.isEmpty }

    public var description: String { components.joined(separator: ".") }

    public static func < (lhs: ConfigPath, rhs: ConfigPath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }
}
