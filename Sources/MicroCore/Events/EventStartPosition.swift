import Foundation

/// Where a new consumer group starts reading its topic. A group that already exists goes on from where
/// it is, whatever its next consumer asks for.
public enum EventStartPosition: Sendable, Hashable {
    /// Every event the topic holds.
    case beginning
    /// The events from this time on (by the time the backend stored them).
    case time(Date)
    /// The events from this ``Event/sequence`` on.
    case sequence(UInt64)
    /// Only events published after the group was made.
    case new
}
