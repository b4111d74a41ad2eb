import Instrumentation

/// Reads an instrument's propagation values from plain headers, such as a ``BrokerMessage``'s, matching keys case-insensitively.
package struct HeaderExtractor: Extractor {
    /// An extractor.
    package init() {}

    /// The value for `key`: an exact match first, then any spelling of it.
    package func extract(key: String, from carrier: [String: String]) -> String? {
        if let value = carrier[key] { return value }
        let lower = key.lowercased()
        return carrier.first { $0.key.lowercased() == lower }?.value
    }
}
