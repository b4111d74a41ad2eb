import Instrumentation

/// Writes an instrument's propagation values into plain headers, such as a ``BrokerMessage``'s.
///
/// A key already present under another spelling (`Traceparent` for `traceparent`) is replaced, so
/// the headers never carry two values for one key.
package struct HeaderInjector: Injector {
    /// An injector.
    package init() {}

    /// Sets `key` to `value`, removing any other spelling of the same key.
    package func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        if carrier[key] == nil {
            let lower = key.lowercased()
            for existing in carrier.keys where existing.lowercased() == lower { carrier[existing] = nil }
        }
        carrier[key] = value
    }
}
