/// A misconfiguration found at start-up (an unknown engine name, a bad address). It never crosses
/// the wire: a local misuse, not a ``MicroError``.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
