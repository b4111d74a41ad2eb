import Instrumentation

/// Writes an instrument's propagation values (e.g. `traceparent`) into a call's ``Metadata``.
public struct MetadataInjector: Injector {
    /// An injector.
    public init() {}

    /// Sets `key` to `value` in the metadata (keys are case-insensitive there).
    public func inject(_ value: String, forKey key: String, into carrier: inout Metadata) {
        carrier[key] = value
    }
}
