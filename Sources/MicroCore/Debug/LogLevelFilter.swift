import Logging

/// The least swift-log level a `Debug.Log` request wants, parsed from its name.
enum LogLevelFilter {
    /// The level named `name` (case-insensitive, `warn` for `warning`), or nil for no filter when empty.
    static func parse(_ name: String?) throws(DebugError) -> Logger.Level? {
        guard let name, !name.isEmpty else { return nil }
        let lower = name.lowercased()
        if lower == "warn" { return .warning }
        guard let level = Logger.Level(rawValue: lower) else {
            throw DebugError(.invalidArgument, "unknown level \(String(name.prefix(32)).debugDescription); use one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return level
    }

    /// Whether a record of level name `level` is at least `minimum` (a record with an unknown name passes).
    static func admits(_ level: String, minimum: Logger.Level?) -> Bool {
        guard let minimum, let l = Logger.Level(rawValue: level) else { return true }
        return l >= minimum
    }
}
