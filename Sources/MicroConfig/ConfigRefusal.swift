import Logging
import Metrics

/// A configuration value or snapshot that was refused (it failed to merge, decode or validate): the
/// last good one stays, and the refusal is logged and counted as `micro_config_refused_total`.
enum ConfigRefusal {
    /// The counter's label.
    static let metric = "micro_config_refused_total"

    /// Logs `error` as a refusal of `what` and counts it under `dimensions`.
    static func record(_ what: String, _ error: any Error, dimensions: [(String, String)], logger: Logger, metrics: any MetricsFactory) {
        Counter(label: metric, dimensions: dimensions, factory: metrics).increment()
        logger.error("refused \(what): \(error); keeping the last good configuration")
    }
}
