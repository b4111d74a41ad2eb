import Foundation
import MicroCore
import NIOConcurrencyHelpers

/// Tokens whose signature and claims verified, by the whole token (so by signature: a changed header or
/// payload is another key), with the account and the expiry, so a repeated token skips the signature
/// check. An entry is used only while the token is valid; at most `capacity` entries are kept (expired
/// ones are dropped first, then all when still full).
final class VerifiedTokenCache: Sendable {
    private struct Entry { var account: Account; var expiry: Date }
    private let entries = NIOLockedValueBox<[TokenKey: Entry]>([:])

    /// A token as a key: equal only to the same whole token, hashed by its length and last bytes (the
    /// signature's, random for every token signed), not all of its few hundred bytes on every call.
    /// Only verified tokens are kept, so tokens sharing an ending cannot pile up under one hash. A
    /// Substring, so the token in a call's `Authorization` value is looked up where it is, uncopied.
    private struct TokenKey: Hashable {
        var token: Substring

        static let hashedBytes = 32

        func hash(into hasher: inout Hasher) {
            let utf8 = token.utf8
            let hashed: Void? = utf8.withContiguousStorageIfAvailable { bytes in
                hasher.combine(bytes.count)
                hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(Self.hashedBytes))))
            }
            if hashed == nil {
                hasher.combine(utf8.count)
                for byte in utf8.suffix(Self.hashedBytes) { hasher.combine(byte) }
            }
        }

        static func == (a: TokenKey, b: TokenKey) -> Bool {
            let equal = a.token.utf8.withContiguousStorageIfAvailable { x in
                b.token.utf8.withContiguousStorageIfAvailable { y in
                    x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
                }
            }
            return (equal ?? nil) ?? a.token.utf8.elementsEqual(b.token.utf8)
        }
    }

    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The account of a verified token still valid at `now` (with `leeway` past its expiry).
    func account(for token: Substring, now: Date, leeway: TimeInterval) -> Account? {
        entries.withLockedValue { entries in
            let key = TokenKey(token: token)
            guard let entry = entries[key] else { return nil }
            guard entry.expiry.timeIntervalSince(now) > -leeway else {
                entries[key] = nil
                return nil
            }
            return entry.account
        }
    }

    func insert(_ token: String, account: Account, expiry: Date, now: Date) {
        guard capacity > 0 else { return }
        entries.withLockedValue { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expiry > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[TokenKey(token: Substring(token))] = Entry(account: account, expiry: expiry)
        }
    }

    func removeAll() {
        entries.withLockedValue { $0.removeAll() }
    }
}
