import NIOConcurrencyHelpers

/// How many background tasks the framework's engines have started and not yet seen end (every
/// `OwnedTasks` task is counted), so a test can prove that nothing outlives a stopped service.
public enum TaskCensus {
    private static let live = NIOLockedValueBox(0)

    /// The tasks started through `OwnedTasks` that are still running, in this process.
    public static var running: Int { live.withLockedValue { $0 } }

    static func started() { live.withLockedValue { $0 += 1 } }
    static func ended() { live.withLockedValue { $0 -= 1 } }
}
