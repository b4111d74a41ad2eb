import Logging
import MicroCore

/// What a subscriber knows about the message it handles.
public struct SubscriberContext: Sendable {
    /// The topic.
    public var topic: String
    /// The message headers (the publisher's metadata, `Content-Type`, `Micro-Id`, ...).
    public var metadata: Metadata
    /// A logger tagged with the topic.
    public var logger: Logger
}
