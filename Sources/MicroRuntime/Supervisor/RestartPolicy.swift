/// How a crashed service is restarted: after an exponential backoff (``initialBackoff`` doubled per
/// crash in a row, at most ``maxBackoff``), until ``crashLimit`` crashes in a row, when it is left
/// failed (a crash loop). A run longer than ``stableAfter`` ends a row.
public struct RestartPolicy: Sendable, Hashable {
    /// The wait before the first restart.
    public var initialBackoff: Duration
    /// The longest wait between restarts.
    public var maxBackoff: Duration
    /// Crashes in a row after which the service is left failed.
    public var crashLimit: Int
    /// A run at least this long is no longer part of a crash row.
    public var stableAfter: Duration

    /// A policy; the defaults are 0.5 s doubling to 30 s, 5 crashes, stable after 30 s.
    public init(initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(30), crashLimit: Int = 5,
                stableAfter: Duration = .seconds(30)) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = max(initialBackoff, maxBackoff)
        self.crashLimit = max(0, crashLimit)
        self.stableAfter = stableAfter
    }

    /// The wait before restart number `crashesInARow` (1 for the first).
    func backoff(after crashesInARow: Int) -> Duration {
        var wait = initialBackoff
        for _ in 1..<max(1, min(crashesInARow, 40)) where wait < maxBackoff { wait = wait * 2 }
        return min(wait, maxBackoff)
    }
}
