import EtcdClient
import MicroCore

/// Where one scope of an ``EtcdStore`` lives in etcd: `<prefix><database>/<table>/<key>`
/// (`/micro/store/micro/micro/alice` by default). Database and table names cannot hold `/`, so no
/// scope's keys fall under another's prefix.
package struct EtcdStoreKeyspace: Sendable, Hashable {
    /// What every etcd key of the scope starts with (`/micro/store/<database>/<table>/`).
    package let base: String
    /// The bytes of ``base``.
    package let prefix: [UInt8]

    /// The keyspace of `scope` under `root` (the configuration's prefix).
    package init(root: String, scope: StoreScope) {
        base = "\(root)\(scope.database)/\(scope.table)/"
        prefix = Array(base.utf8)
    }

    /// The etcd key of a store key.
    package func etcdKey(_ key: String) -> String {
        base + key
    }

    /// The etcd range of the keys starting with `keyPrefix`.
    package func range(prefix keyPrefix: String) -> EtcdKeyRange {
        .prefix(prefix + Array(keyPrefix.utf8))
    }

    /// The store key an etcd key names; throws ``StoreError/Code/malformed`` when it is outside the scope
    /// or is not a valid key (what etcd answers is untrusted).
    package func storeKey(_ etcdKey: [UInt8]) throws -> String {
        guard etcdKey.count > prefix.count, etcdKey.starts(with: prefix) else {
            throw StoreError(.malformed, "etcd answered a key outside the store's scope: '\(Self.printable(String(decoding: etcdKey, as: UTF8.self)))'")
        }
        let bytes = etcdKey[prefix.count...]
        guard let key = String(validating: bytes, as: UTF8.self) else {
            throw StoreError(.malformed, "an etcd key of the store is not UTF-8: '\(Self.printable(String(decoding: bytes, as: UTF8.self)))'")
        }
        do {
            try StoreKey.validate(key)
        } catch {
            throw StoreError(.malformed, "an etcd key of the store is not a valid store key: '\(Self.printable(key))'")
        }
        return key
    }

    /// `text` cut to 64 characters with control characters escaped, for error messages.
    package static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 64 ? out + "…" : out
    }
}
