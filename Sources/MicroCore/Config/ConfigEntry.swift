/// One document of a configuration source: JSON bytes merged into the tree at ``components`` (go-micro's
/// layout: a key under the source's prefix, its path below the prefix).
///
/// Both parts are as the source holds them, untrusted: ``ConfigTree/merge(_:limits:)`` validates the
/// path (``ConfigPath``) and the document, and refuses the whole set when one entry fails.
public struct ConfigEntry: Sendable, Hashable {
    /// Where the document is merged, from the root (none: the root).
    public var components: [String]
    /// The document.
    public var document: [UInt8]

    /// An entry at a validated path.
    public init(path: ConfigPath, document: [UInt8]) {
        self.components = path.components
        self.document = document
    }

    /// An entry at a path as a source spells it (checked when merged).
    public init(components: [String], document: [UInt8]) {
        self.components = components
        self.document = document
    }

    /// The path, or ``ConfigError/Code/invalidPath``.
    public func path() throws(ConfigError) -> ConfigPath {
        try ConfigPath(components: components)
    }
}
