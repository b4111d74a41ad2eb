/// A set of rules in the order they are tried, and go-micro's `auth.Verify` over them as a pure function.
///
/// Rules whose resource matches (type, name and endpoint each equal or `*`; an endpoint rule `a/b/*`
/// also covers any path under `a/b`) are tried from the highest priority down, denials before grants at
/// equal priority. The first whose scope applies decides: ``Rule/publicScope`` applies to everyone,
/// ``Rule/accountScope`` to any account, another scope to accounts holding it. When none applies the
/// call is denied. An empty set grants everything (nothing is secured yet); once any rule exists,
/// anything not granted is denied.
public struct RuleSet: Sendable, Hashable {
    /// The rules, in the order they are tried.
    public let rules: [Rule]

    /// The rules, ordered for evaluation.
    public init(_ rules: [Rule]) {
        self.rules = rules.sorted { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.access != b.access { return a.access == .denied }
            return a.id < b.id
        }
    }

    /// Whether `account` (nil: a caller without a valid token) may reach `resource`.
    public func verify(account: Account?, resource: Resource) -> RuleAccess {
        if rules.isEmpty { return .granted }
        for rule in rules where Self.covers(rule.resource, resource) {
            if rule.scope == Rule.publicScope { return rule.access }
            guard let account else { continue }
            if rule.scope == Rule.accountScope || account.scopes.contains(rule.scope) { return rule.access }
        }
        return .denied
    }

    /// Whether a rule's resource (with wildcards) covers a concrete one.
    static func covers(_ pattern: Resource, _ resource: Resource) -> Bool {
        guard pattern.type == "*" || pattern.type == resource.type,
              pattern.name == "*" || pattern.name == resource.name else { return false }
        if pattern.endpoint == "*" || pattern.endpoint == resource.endpoint { return true }
        // `a/b/*` covers `a/b/c` and deeper (go-micro's path wildcards for web endpoints).
        guard pattern.endpoint.hasSuffix("/*") else { return false }
        let base = pattern.endpoint.dropLast(1)  // keeps the trailing "/"
        return resource.endpoint.hasPrefix(base)
    }
}
