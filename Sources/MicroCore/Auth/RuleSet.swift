import Synchronization

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
    /// Tells this set from any other made in the process (even with the same rules), so what was
    /// worked out from it (``EndpointRules``) is known to be current while the serial is the same.
    package let serial: UInt64

    private static let serials = Atomic<UInt64>(0)

    /// The rules, ordered for evaluation.
    public init(_ rules: [Rule]) {
        self.rules = rules.sorted { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.access != b.access { return a.access == .denied }
            return a.id < b.id
        }
        self.serial = Self.serials.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Whether `account` (nil: a caller without a valid token) may reach `resource`.
    public func verify(account: Account?, resource: Resource) -> RuleAccess {
        rules(for: resource).verify(account: account)
    }

    /// What decides calls to `resource`: the rules that cover it, in order, down to the first public one.
    package func rules(for resource: Resource) -> EndpointRules {
        guard !rules.isEmpty else { return EndpointRules(serial: serial, steps: [], otherwise: .granted) }
        var steps: [EndpointRules.Step] = []
        for rule in rules where Self.covers(rule.resource, resource) {
            if rule.scope == Rule.publicScope { return EndpointRules(serial: serial, steps: steps, otherwise: rule.access) }
            steps.append(EndpointRules.Step(scope: rule.scope, access: rule.access))
        }
        return EndpointRules(serial: serial, steps: steps, otherwise: .denied)
    }

    /// The rules of one resource, worked out from a ``RuleSet`` (its ``RuleSet/serial``) once and
    /// applied to every call: the scoped rules that cover it in order, then what everyone else gets.
    package struct EndpointRules: Sendable {
        /// The ``RuleSet/serial`` of the set it comes from.
        package let serial: UInt64
        fileprivate let steps: [Step]
        /// The access of a caller no scoped rule decides: the first public rule's, else granted for an
        /// empty set and denied otherwise.
        fileprivate let otherwise: RuleAccess

        fileprivate struct Step: Sendable {
            let scope: String
            let access: RuleAccess
        }

        /// Whether `account` (nil: a caller without a valid token) may reach the resource.
        package func verify(account: Account?) -> RuleAccess {
            if let account {
                for step in steps where step.scope == Rule.accountScope || account.scopes.contains(step.scope) {
                    return step.access
                }
            }
            return otherwise
        }
    }

    public static func == (a: RuleSet, b: RuleSet) -> Bool {
        a.rules == b.rules
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rules)
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
