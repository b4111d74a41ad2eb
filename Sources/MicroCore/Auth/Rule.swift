/// Who may reach what (go-micro's `auth.Rule`): callers holding ``scope`` are granted or denied
/// ``resource``; the highest ``priority`` that applies decides (see ``RuleSet``).
public struct Rule: Sendable, Hashable, Codable {
    /// Unique name of the rule.
    public var id: String
    /// The scope a caller must hold: ``publicScope`` (`""`) applies to everyone, signed in or not;
    /// ``accountScope`` (`*`) to any signed-in account; anything else to accounts holding it.
    public var scope: String
    /// What it covers; `*` parts match anything.
    public var resource: Resource
    /// Grant or deny.
    public var access: RuleAccess
    /// Higher wins; at equal priority a denial wins.
    public var priority: Int

    /// go-micro's `ScopePublic`: the rule applies to every caller, with or without a token.
    public static let publicScope = ""
    /// go-micro's `ScopeAccount`: the rule applies to every caller with a valid token.
    public static let accountScope = "*"

    /// A rule.
    public init(id: String, scope: String, resource: Resource, access: RuleAccess = .granted, priority: Int = 0) {
        self.id = id
        self.scope = scope
        self.resource = resource
        self.access = access
        self.priority = priority
    }
}
