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
    /// The request id (`Micro-Id`), empty when the caller sent none.
    public var requestID: String
    /// The caller's account, once ``AuthHandlerWrapper`` verified its token (nil without auth or token).
    public var account: Account?
    private var baseLogger: Logger
    private var customLogger: Logger?

    /// A logger tagged with the endpoint and request id (built when first used, so calls that do
    /// not log pay nothing for it).
    public var logger: Logger {
        get {
            if let customLogger { return customLogger }
            var l = baseLogger
            l[metadataKey: "endpoint"] = "\(endpoint)"
            if !requestID.isEmpty { l[metadataKey: "request-id"] = "\(requestID)" }
            return l
        }
        set { customLogger = newValue }
    }

    /// Creates a context.
    public init(service: String, endpoint: String, metadata: Metadata, deadline: NIODeadline?, logger: Logger, requestID: String = "") {
        self.service = service
        self.endpoint = endpoint
        self.metadata = metadata
        self.deadline = deadline
        self.requestID = requestID
        self.baseLogger = logger
    }
}
