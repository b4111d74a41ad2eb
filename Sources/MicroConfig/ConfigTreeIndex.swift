import MicroCore

/// Every addressable node of a ``ConfigTree`` by its key components, with the key's encoded form
/// (`a.b.c`) computed once: a hot read is one hash lookup instead of a walk down nested objects and
/// a join of the key. Built once per snapshot (a tree is bounded by ``ConfigLimits``).
struct ConfigTreeIndex: Sendable {
    struct Entry: Sendable {
        /// The key as swift-configuration encodes it in access reports (a key without context).
        var encodedKey: String
        var node: ConfigNode
    }

    private var entries: [[String]: Entry] = [:]

    /// Indexes every member of every object of `tree` (array elements are not addressable by key).
    init(_ tree: ConfigTree) {
        var path: [String] = []
        add(tree.root, path: &path)
    }

    private mutating func add(_ members: [String: ConfigNode], path: inout [String]) {
        for (name, node) in members {
            path.append(name)
            entries[path] = Entry(encodedKey: path.joined(separator: "."), node: node)
            if case .object(let inner) = node { add(inner, path: &path) }
            path.removeLast()
        }
    }

    /// The entry at `components`, nil when the tree has no node there.
    func entry(_ components: [String]) -> Entry? {
        entries[components]
    }
}
