import Foundation
import JWTKit
import MicroCore
import NIOConcurrencyHelpers

/// The auth service's public keys, fetched as a JWK Set and kept in a jwt-kit key collection by key
/// id (none is the default, so an unknown key id never falls back to another key). A token naming a
/// key not known here makes the set fetch again, at most once per ``refetchInterval``, so a flood of
/// tokens with made-up key ids costs at most one call a second.
final class RemoteKeySet: AccessTokenKeys {
    private let fetch: @Sendable () async throws -> JWKSet
    private let collection = JWTKeyCollection()
    private let state = NIOLockedValueBox(State())

    private struct State {
        var kids: Set<String> = []
        var fetched: ContinuousClock.Instant?
    }

    /// How often an unknown key id may make the set fetch again.
    let refetchInterval: Duration

    init(refetchInterval: Duration = .seconds(1), fetch: @escaping @Sendable () async throws -> JWKSet) {
        self.refetchInterval = refetchInterval
        self.fetch = fetch
    }

    func verify(_ token: String, kid: String, now: Date) async throws -> AccessClaims {
        if !knows(kid) {
            let due = state.withLockedValue { s -> Bool in
                let clock = ContinuousClock.now
                guard s.fetched.map({ clock - $0 >= refetchInterval }) ?? true else { return false }
                s.fetched = clock   // claimed before the fetch: concurrent callers do not fetch too
                return true
            }
            if due { try await reload() }
            guard knows(kid) else { throw AuthError(.invalidToken, "the token is signed with an unknown key") }
        }
        return try await collection.verifyAccess(token)
    }

    /// Fetches the set and replaces the keys: new ones are added, ones no longer published removed.
    func reload() async throws {
        let keys = try await fetch().verifyingKeys()
        let known = state.withLockedValue { $0.kids }
        for (kid, key) in keys where !known.contains(kid) {
            await collection.add(eddsa: key, kid: JWKIdentifier(string: kid))
        }
        for kid in known where keys[kid] == nil {
            await collection.remove(kid: JWKIdentifier(string: kid))
        }
        state.withLockedValue { $0.kids = Set(keys.keys) }
    }

    private func knows(_ kid: String) -> Bool {
        state.withLockedValue { $0.kids.contains(kid) }
    }
}
