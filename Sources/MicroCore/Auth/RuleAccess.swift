/// Whether a rule lets a caller in (go-micro's `auth.Access`).
public enum RuleAccess: String, Sendable, Hashable, Codable {
    /// The caller may.
    case granted
    /// The caller may not.
    case denied
}
