import NIOCore

/// Monotonic nanoseconds (the clock NIO's deadlines use).
@inline(__always)
func nowNanos() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

/// The outcome of one measured run: completed requests in the window and their latencies.
struct RunResult: Sendable {
    var label: String
    var seconds: Double
    var completed: Int
    var errors: Int
    /// Per-request latencies in nanoseconds (unsorted).
    var latencies: [UInt64]
    /// Messages a subscriber received in the window (pubsub only).
    var delivered: Int?
    /// One response, for a sanity check.
    var sample: String?
    /// CPU seconds the measured threads used in the window, when measured.
    var cpuSeconds: Double?
    /// Percentiles (50, 99) in milliseconds from an external load generator that keeps no per-request
    /// latencies (wrk's own histogram); used when `latencies` is empty.
    var reportedPercentiles: [Double: Double] = [:]

    var requestsPerSecond: Double { Double(completed) / seconds }
    var deliveredPerSecond: Double? { delivered.map { Double($0) / seconds } }
    /// CPU microseconds per completed request, when measured.
    var cpuMicrosPerRequest: Double? { completed > 0 ? cpuSeconds.map { $0 * 1e6 / Double(completed) } : nil }

    /// Nearest-rank percentile in milliseconds.
    func percentileMillis(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return reportedPercentiles[p] ?? .nan }
        let sorted = latencies.sorted()
        let rank = max(0, min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1_000_000
    }

    /// The best (highest throughput) of several runs of the same subject.
    static func best(_ runs: [RunResult]) -> RunResult? {
        runs.max { $0.requestsPerSecond < $1.requestsPerSecond }
    }
}

/// Fixed-width table printing.
enum Table {
    static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        if s.count >= width { return s }
        let fill = String(repeating: " ", count: width - s.count)
        return left ? s + fill : fill + s
    }

    static func fmt(_ v: Double, _ decimals: Int) -> String {
        if v.isNaN { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (v * scale).rounded() / scale
        var text = "\(rounded)"
        // Pad the fractional part to `decimals` digits (Double's description drops trailing zeros).
        if decimals > 0 {
            if let dot = text.firstIndex(of: ".") {
                let frac = text.distance(from: text.index(after: dot), to: text.endIndex)
                if frac < decimals { text += String(repeating: "0", count: decimals - frac) }
            } else {
                text += "." + String(repeating: "0", count: decimals)
            }
        } else if text.hasSuffix(".0") {
            text.removeLast(2)
        }
        return text
    }

    static func rateRow(_ r: RunResult, labelWidth: Int = 32) -> String {
        var row = pad(r.label, labelWidth, left: true)
        row += pad(fmt(r.requestsPerSecond, 0), 12)
        row += pad(fmt(r.percentileMillis(50), 3), 10)
        row += pad(fmt(r.percentileMillis(99), 3), 10)
        row += pad("\(r.errors)", 8)
        if let d = r.deliveredPerSecond { row += pad(fmt(d, 0), 14) }
        return row
    }

    static func ratioRow(_ name: String, _ ratio: Double, target: Double, labelWidth: Int = 44) -> String {
        let verdict = ratio >= target ? "PASS" : "BELOW"
        return pad(name, labelWidth, left: true) + pad(fmt(ratio, 3), 8) + "   (target ≥ \(fmt(target, 2)): \(verdict))"
    }
}

/// Ratios measured round by round (each round runs the baseline and the subject next to each other),
/// summarised as the median and the spread, so one lucky or unlucky run decides nothing.
struct RoundRatios {
    private(set) var values: [Double] = []

    mutating func append(_ ratio: Double) { values.append(ratio) }

    /// The median ratio (the mean of the two middle ones for an even count); NaN when empty.
    var median: Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    var min: Double { values.min() ?? .nan }
    var max: Double { values.max() ?? .nan }

    /// `median 0.97 (0.91–1.02 over 5 rounds)`.
    var summary: String {
        "median \(Table.fmt(median, 3)) (\(Table.fmt(min, 3))–\(Table.fmt(max, 3)) over \(values.count) rounds)"
    }
}
