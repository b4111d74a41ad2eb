import Metrics
import NIOConcurrencyHelpers

/// The counters and timers the metrics wrappers record into, made by their factory once per label and
/// dimensions and then reused: making one (swift-prometheus checks the names and looks the series up
/// under its registry's lock) costs several times what recording into it does.
///
/// Without a factory of its own it asks `MetricsSystem.factory` at the time of each use and keeps
/// nothing, so a later bootstrap is seen. At most `limit` handles are kept; beyond that (endpoints or
/// topics without end) each use makes its handle afresh, as swift-metrics' own types do.
final class MetricHandles: Sendable {
    private let factory: (any MetricsFactory)?
    private let limit: Int
    private let counters = NIOLockedValueBox([Key: Counter]())
    private let timers = NIOLockedValueBox([Key: Timer]())

    private struct Key: Hashable {
        let label: String
        let dimensions: [(String, String)]

        static func == (a: Key, b: Key) -> Bool {
            a.label == b.label && a.dimensions.elementsEqual(b.dimensions) { $0 == $1 }
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(label)
            for (name, value) in dimensions {
                hasher.combine(name)
                hasher.combine(value)
            }
        }
    }

    /// Handles made by `factory` (nil: `MetricsSystem.factory` at each use, nothing kept), at most `limit` kept.
    init(factory: (any MetricsFactory)?, limit: Int = 1024) {
        self.factory = factory
        self.limit = limit
    }

    /// Whether it has a factory of its own, so handles made now may be kept and reused.
    var keepsHandles: Bool { factory != nil }

    /// The counter `label` with `dimensions`.
    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        guard let factory else { return Counter(label: label, dimensions: dimensions, factory: MetricsSystem.factory) }
        return Self.handle(Key(label: label, dimensions: dimensions), in: counters, limit: limit) {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
    }

    /// The timer `label` with `dimensions`, shown in seconds.
    func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        guard let factory else {
            return Timer(label: label, dimensions: dimensions, preferredDisplayUnit: .seconds, factory: MetricsSystem.factory)
        }
        return Self.handle(Key(label: label, dimensions: dimensions), in: timers, limit: limit) {
            Timer(label: label, dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
        }
    }

    /// The kept handle for `key`, or a new one from `make`, kept while there is room. Made outside the
    /// lock: a factory may take locks of its own.
    private static func handle<H>(_ key: Key, in table: NIOLockedValueBox<[Key: H]>, limit: Int, make: () -> H) -> H {
        if let kept = table.withLockedValue({ $0[key] }) { return kept }
        let made = make()
        return table.withLockedValue { kept in
            if let existing = kept[key] { return existing }
            if kept.count < limit { kept[key] = made }
            return made
        }
    }
}
