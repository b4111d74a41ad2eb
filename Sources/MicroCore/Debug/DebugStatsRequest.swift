/// What `Debug.Stats` is asked: nothing yet (`{}`); a type so fields can be added.
public struct DebugStatsRequest: Codable, Sendable, Hashable {
    /// Creates a request.
    public init() {}
}
