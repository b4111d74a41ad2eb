/// An expectation of a ``StoreCheck`` that a backend did not meet.
public struct ConformanceFailure: Error, CustomStringConvertible {
    /// What was expected and what happened, with where in the suite.
    public var description: String
}
