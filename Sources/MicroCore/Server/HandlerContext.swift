import Logging
import NIOCore

/// What a handler knows about the call it serves: who was called, the caller's metadata and deadline, a logger.
public struct HandlerContext: Sendable {
    /// The service name this server registered.
    public var service: String
    /// The endpoint called, e.g. `Greeter.Hello`.
    public var endpoint: String
    /// The caller's metadata.
    public var metadata: Metadata
    /// When the caller gives up, if it said.
    public var deadline: NIODeadline?
    /// A logger tagged with the service, endpoint and request id.
    public var logger: Logger

    /// Creates a context.
    public init(service: String, endpoint: String, metadata: Metadata, deadline: NIODeadline?, logger: Logger) {
        self.service = service
        self.endpoint = endpoint
        self.metadata = metadata
        self.deadline = deadline
        self.logger = logger
    }
}
