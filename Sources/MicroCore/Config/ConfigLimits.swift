/// How much configuration a process accepts from its sources; a snapshot past any limit is refused
/// whole with a ``ConfigError`` (its last good snapshot stays).
public struct ConfigLimits: Sendable, Hashable {
    /// The largest single document, in bytes (default 1 MiB).
    public var maxDocumentBytes: Int
    /// The largest total of all documents of one snapshot, in bytes (default 8 MiB).
    public var maxTotalBytes: Int
    /// The most values (objects, arrays and scalars) in a merged tree (default 10,000).
    public var maxEntries: Int
    /// The deepest nesting, counting path components and the document's own levels (default 32).
    public var maxDepth: Int
    /// The most elements in one array (default 10,000).
    public var maxArrayElements: Int

    /// Limits; the defaults are 1 MiB per document, 8 MiB in all, 10,000 values, depth 32 and
    /// 10,000 array elements.
    public init(maxDocumentBytes: Int = 1 << 20, maxTotalBytes: Int = 8 << 20, maxEntries: Int = 10_000,
                maxDepth: Int = 32, maxArrayElements: Int = 10_000) {
        self.maxDocumentBytes = max(0, maxDocumentBytes)
        self.maxTotalBytes = max(0, maxTotalBytes)
        self.maxEntries = max(1, maxEntries)
        self.maxDepth = max(1, maxDepth)
        self.maxArrayElements = max(0, maxArrayElements)
    }
}
