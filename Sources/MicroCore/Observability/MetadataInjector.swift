import Instrumentation

/// Writes an instrument's propagation values (e.g. `traceparent`) into a call's ``Metadata``.
package struct MetadataInjector: Injector {
    /// An injector.
    package init() {}

    /// Sets `key` to `value` in the metadata (keys are case-insensitive there).
    package func inject(_ value: String, forKey key: String, into carrier: inout Metadata) {
        carrier[key] = value
    }
}
