import Crypto
import Foundation
import JWTKit
import MicroCore
import NIOConcurrencyHelpers

/// The signing keys of a ``JWTAuth``: kept in the store (so every process sharing it signs and
/// verifies alike), mirrored into a jwt-kit key collection by key id. No key is the collection's
/// default, so a token naming an unknown key id never falls back to another key.
final class JWTKeyRing: AccessTokenKeys {
    private let store: any Store
    private let configuration: JWTAuthConfiguration
    private let collection = JWTKeyCollection()
    private let state = NIOLockedValueBox(State())

    private struct State {
        var records: [String: SigningKeyRecord] = [:]
        var loaded: Date?
    }

    /// How often an unknown key id may make the ring read the store again.
    static let reloadInterval: TimeInterval = 1

    init(store: any Store, configuration: JWTAuthConfiguration) {
        self.store = store
        self.configuration = configuration
    }

    /// Signs `claims` with the current key, making one first when none signs any more.
    func sign(_ claims: AccessClaims, now: Date) async throws -> String {
        let key = try await currentKey(now: now)
        return try await collection.sign(claims, kid: JWKIdentifier(string: key.kid), header: JWTHeader(fields: ["typ": .string("JWT")]))
    }

    /// Verifies `token`'s signature with the key its header names (reading the store once more when
    /// the key is not known here yet) and decodes its claims.
    func verify(_ token: String, kid: String, now: Date) async throws -> AccessClaims {
        if !knows(kid, now: now) {
            let stale = state.withLockedValue { s in s.loaded.map { now.timeIntervalSince($0) >= Self.reloadInterval } ?? true }
            if stale { try await load(now: now) }
            guard knows(kid, now: now) else { throw AuthError(.invalidToken, "the token is signed with an unknown key") }
        }
        return try await collection.verifyAccess(token)
    }

    /// Retires the signing key (it still verifies until the last token it signed has expired) and makes a new one.
    func rotate(now: Date) async throws {
        try await load(now: now)
        let retiring = state.withLockedValue { Array($0.records.values) }.filter { $0.signsUntil > now }
        for var record in retiring {
            record.signsUntil = now
            record.verifiesUntil = now.addingTimeInterval(configuration.accessTTL.seconds + configuration.leeway.seconds)
            try await save(record, now: now, condition: .always)
        }
        _ = try await makeKey(now: now)
    }

    /// The public keys that still verify, as a JWK Set (RFC 7517) of Ed25519 keys, oldest first.
    func publicKeys(now: Date) async throws -> JWKSet {
        try await load(now: now)
        let records = state.withLockedValue { Array($0.records.values) }.sorted { $0.created < $1.created }
        return JWKSet(keys: try records.map { record in
            JWKSet.Key(kid: record.kid, x: AuthSecrets.base64URL(try privateKey(record).publicKey.rawRepresentation))
        })
    }

    /// Reads the keys from the store: drops those past verifying, adds new ones, forgets removed ones.
    func load(now: Date) async throws {
        let entries = try await store.entries(StoreQuery(prefix: SigningKeyRecord.prefix), as: SigningKeyRecord.self)
        var fresh: [String: SigningKeyRecord] = [:]
        for entry in entries {
            if entry.value.verifiesUntil <= now {
                _ = try? await store.delete(entry.key, ifRevision: entry.revision)
            } else {
                fresh[entry.value.kid] = entry.value
            }
        }
        let known = state.withLockedValue { $0.records }
        for (kid, record) in fresh where known[kid] == nil {
            await collection.add(eddsa: EdDSA.PrivateKey(backing: try privateKey(record)), kid: JWKIdentifier(string: kid))
        }
        for kid in known.keys where fresh[kid] == nil {
            await collection.remove(kid: JWKIdentifier(string: kid))
        }
        state.withLockedValue {
            $0.records = fresh
            $0.loaded = now
        }
    }

    private func knows(_ kid: String, now: Date) -> Bool {
        state.withLockedValue { $0.records[kid].map { $0.verifiesUntil > now } ?? false }
    }

    private func currentKey(now: Date) async throws -> SigningKeyRecord {
        if let key = signing(now: now) { return key }
        try await load(now: now)
        if let key = signing(now: now) { return key }
        return try await makeKey(now: now)
    }

    private func signing(now: Date) -> SigningKeyRecord? {
        state.withLockedValue { $0.records.values.filter { $0.signsUntil > now }.max { $0.created < $1.created } }
    }

    private func makeKey(now: Date) async throws -> SigningKeyRecord {
        let key = Curve25519.Signing.PrivateKey()
        let signsUntil = now.addingTimeInterval(configuration.keyLifetime.seconds)
        let record = SigningKeyRecord(kid: AuthSecrets.random(bytes: 12), privateKey: AuthSecrets.base64URL(key.rawRepresentation), created: now,
                                      signsUntil: signsUntil,
                                      verifiesUntil: signsUntil.addingTimeInterval(configuration.accessTTL.seconds + configuration.leeway.seconds))
        try await save(record, now: now, condition: .ifAbsent)
        await collection.add(eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: record.kid))
        state.withLockedValue { $0.records[record.kid] = record }
        return record
    }

    private func save(_ record: SigningKeyRecord, now: Date, condition: StoreCondition) async throws {
        let ttl = Duration.milliseconds(Int64(max(1, record.verifiesUntil.timeIntervalSince(now) * 1000)))
        try await store.write(SigningKeyRecord.prefix + record.kid, value: record, ttl: ttl, condition: condition)
        state.withLockedValue { $0.records[record.kid] = record }
    }

    private func privateKey(_ record: SigningKeyRecord) throws -> Curve25519.Signing.PrivateKey {
        guard let raw = JOSEHeader.base64URLDecode(record.privateKey.utf8),
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw AuthError(.unavailable, "signing key '\(record.kid)' in the store is malformed")
        }
        return key
    }
}
