import Foundation

/// An ``Auth`` that keeps what it verified and read (tokens until they expire, rules until they are due
/// to be read again) and can answer from it at once, without waiting: ``AuthHandlerWrapper`` admits a
/// call that way when it can, and goes through ``Auth/inspect(_:)`` and ``Auth/rules()`` otherwise.
package protocol HoldingAuth: Auth {
    /// The account of a token verified before and still valid at `now`; nil when it has to be
    /// inspected. `token` is the text after `Bearer ` as sent, not yet checked: only a token equal to
    /// a verified one (so well formed) is found.
    func verifiedAccount(token: Substring, now: Date) -> Account?

    /// The rules held now, nil when they are due to be read again (``Auth/rules()`` does that).
    func heldRules() -> RuleSet?
}
