/// go-micro's layout of configuration documents in a key-value engine: the document at the prefix is
/// merged at the root, the one at `<prefix>/a/b` at `a.b`; keys neither at nor below the prefix are not
/// configuration. Shared by the etcd, Consul and NATS sources.
package struct ConfigKeyLayout: Sendable, Hashable {
    /// The prefix, without a trailing `/`.
    package let prefix: String

    /// The layout under `prefix` (trailing `/`s dropped).
    package init(prefix: String) {
        var prefix = prefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.prefix = prefix
    }

    /// The key of `path`.
    package func key(_ path: ConfigPath) -> String {
        path.isRoot ? prefix : prefix + "/" + path.components.joined(separator: "/")
    }

    /// The components of `key`'s path (unchecked: ``ConfigTree/merge(_:limits:)`` checks them), nil
    /// for a key outside the layout (`<prefix>X`).
    package func components(_ key: String) -> [String]? {
        if key == prefix { return [] }
        guard key.hasPrefix(prefix + "/") else { return nil }
        return key.dropFirst(prefix.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    }

    /// The entries of the documents under keys of this layout.
    package func entries(_ documents: some Sequence<(key: String, value: [UInt8])>) -> [ConfigEntry] {
        documents.compactMap { key, value in components(key).map { ConfigEntry(components: $0, document: value) } }
    }
}
