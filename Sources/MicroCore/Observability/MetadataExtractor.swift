import Instrumentation

/// Reads an instrument's propagation values (e.g. `traceparent`) from a call's ``Metadata``.
public struct MetadataExtractor: Extractor {
    /// An extractor.
    public init() {}

    /// The value for `key`, matched case-insensitively.
    public func extract(key: String, from carrier: Metadata) -> String? {
        carrier[key]
    }
}
