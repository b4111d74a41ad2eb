import NIOCore

/// What travels with a call inside one process: the caller's metadata and deadline, carried as a task local.
///
/// A handler runs with the incoming call's context set, so any call it makes onward carries the same
/// deadline and metadata without passing them by hand.
public struct CallContext: Sendable {
    /// Metadata to send with every onward call and publish.
    public var metadata: Metadata
    /// The instant by which the whole call chain must finish, if any.
    public var deadline: NIODeadline?

    /// A context with the given metadata and deadline.
    public init(metadata: Metadata = Metadata(), deadline: NIODeadline? = nil) {
        self.metadata = metadata
        self.deadline = deadline
    }

    /// The context of the running task (empty outside any call).
    @TaskLocal public static var current = CallContext()

    /// Runs `body` with extra metadata merged into the current context.
    public static func with<T: Sendable>(
        metadata: Metadata,
        deadline: NIODeadline? = nil,
        _ body: () async throws -> T
    ) async rethrows -> T {
        var ctx = current
        ctx.metadata = ctx.metadata.merging(metadata)
        if let deadline { ctx.deadline = ctx.deadline.map { min($0, deadline) } ?? deadline }
        return try await $current.withValue(ctx) { try await body() }
    }
}
