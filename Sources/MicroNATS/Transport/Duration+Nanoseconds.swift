import NIOCore

extension Duration {
    /// The duration in nanoseconds (saturating), as Go's `time.Duration` and go-micro's `Timeout` count.
    var nanosecondCount: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        let (sum, overflow2) = ns.addingReportingOverflow(atto / 1_000_000_000)
        return overflow2 ? .max : sum
    }

    /// The duration as NIO's `TimeAmount`.
    var timeAmount: TimeAmount { .nanoseconds(nanosecondCount) }
}
