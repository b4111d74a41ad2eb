import Instrumentation

/// Reads an instrument's propagation values (e.g. `traceparent`) from a call's ``Metadata``.
package struct MetadataExtractor: Extractor {
    /// An extractor.
    package init() {}

    /// The value for `key`, matched case-insensitively.
    package func extract(key: String, from carrier: Metadata) -> String? {
        carrier[key]
    }
}
