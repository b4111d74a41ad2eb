/// A configuration snapshot as a tree of values: the documents of a source merged by path
/// (go-micro's layout), checked against ``ConfigLimits`` as a whole, so a bad document refuses the
/// whole snapshot and nothing is half-applied.
public struct ConfigTree: Sendable, Hashable {
    /// The members of the root object.
    public private(set) var root: [String: ConfigNode]

    /// An empty tree.
    public init() {
        root = [:]
    }

    /// The tree a JSON object describes (a saved snapshot); throws ``ConfigError`` when it is not a
    /// JSON object within `limits`.
    public init(document: [UInt8], limits: ConfigLimits = ConfigLimits()) throws(ConfigError) {
        self = try Self.merge([ConfigEntry(path: .root, document: document)], limits: limits)
    }

    /// Merges `entries` in path order (a parent's document first, so a deeper document wins where
    /// both set a value; objects merge member by member, anything else replaces). Throws the first
    /// ``ConfigError`` of any entry: invalid JSON, a document at the root that is not an object, or a
    /// limit passed.
    public static func merge(_ entries: [ConfigEntry], limits: ConfigLimits = ConfigLimits()) throws(ConfigError) -> ConfigTree {
        var total = 0
        var budget = Budget(remaining: limits.maxEntries)
        var tree = ConfigTree()
        for entry in entries.sorted(by: { $0.components.lexicographicallyPrecedes($1.components) }) {
            let path = try entry.path()
            guard entry.document.count <= limits.maxDocumentBytes else {
                throw ConfigError(.tooLarge, "the document at '\(path)' is \(entry.document.count) bytes, more than \(limits.maxDocumentBytes)")
            }
            total += entry.document.count
            guard total <= limits.maxTotalBytes else {
                throw ConfigError(.tooLarge, "the documents hold more than \(limits.maxTotalBytes) bytes")
            }
            let node = try parse(entry.document, at: path, limits: limits, budget: &budget)
            if path.isRoot {
                guard case .object(let members) = node else {
                    throw ConfigError(.invalidDocument, "the document at the root is not a JSON object")
                }
                tree.root = merged(tree.root, members)
            } else {
                tree.root = inserting(node, at: path.components[...], into: tree.root)
            }
        }
        return tree
    }

    /// The value at `path`, nil when there is none.
    public func node(at path: ConfigPath) -> ConfigNode? {
        node(at: path.components)
    }

    /// The value at the path of `components` (not validated: a component no path may hold is simply
    /// not found), nil when there is none.
    @inlinable
    public func node(at components: some Collection<String>) -> ConfigNode? {
        var members = root
        var remaining = components.count
        for component in components {
            guard let node = members[component] else { return nil }
            remaining -= 1
            if remaining == 0 { return node }
            guard case .object(let inner) = node else { return nil }
            members = inner
        }
        return .object(members)
    }

    /// The tree as one JSON object (what ``init(document:limits:)`` reads back).
    public func jsonDocument() -> [UInt8] {
        ConfigNode.object(root).jsonDocument()
    }

    // MARK: Merging

    struct Budget {
        var remaining: Int
    }

    private static func merged(_ base: [String: ConfigNode], _ overlay: [String: ConfigNode]) -> [String: ConfigNode] {
        var result = base
        for (key, value) in overlay {
            if case .object(let inner) = value, case .object(let existing)? = result[key] {
                result[key] = .object(merged(existing, inner))
            } else {
                result[key] = value
            }
        }
        return result
    }

    private static func inserting(_ node: ConfigNode, at path: ArraySlice<String>, into members: [String: ConfigNode]) -> [String: ConfigNode] {
        var members = members
        let key = path.first!
        if path.count == 1 {
            if case .object(let inner) = node, case .object(let existing)? = members[key] {
                members[key] = .object(merged(existing, inner))
            } else {
                members[key] = node
            }
        } else {
            var inner: [String: ConfigNode] = [:]
            if case .object(let existing)? = members[key] { inner = existing }
            members[key] = .object(inserting(node, at: path.dropFirst(), into: inner))
        }
        return members
    }

    // MARK: Parsing

    private static func parse(_ document: [UInt8], at path: ConfigPath, limits: ConfigLimits, budget: inout Budget) throws(ConfigError) -> ConfigNode {
        let depth = limits.maxDepth - path.components.count
        guard depth > 0 else {
            throw ConfigError(.tooDeep, "the path '\(path)' is deeper than \(limits.maxDepth) levels")
        }
        let tape: JSONTape
        do {
            tape = try JSONTape(document, maxDepth: depth)
        } catch {
            let code: ConfigError.Code = error.code == .tooDeep ? .tooDeep : .invalidDocument
            throw ConfigError(code, "the document at '\(path)': \(error)")
        }
        return try node(tape, 0, path: path, limits: limits, budget: &budget)
    }

    private static func node(_ tape: JSONTape, _ index: Int, path: ConfigPath, limits: ConfigLimits, budget: inout Budget) throws(ConfigError) -> ConfigNode {
        budget.remaining -= 1
        guard budget.remaining >= 0 else {
            throw ConfigError(.tooManyEntries, "the documents hold more than \(limits.maxEntries) values")
        }
        let entry = tape.entries[index]
        switch entry.kind {
        case .object:
            var members: [String: ConfigNode] = [:]
            var i = index + 1
            for _ in 0..<Int(entry.count) {
                let key = tape.string(at: i)
                members[key] = try node(tape, i + 1, path: path, limits: limits, budget: &budget)
                i = Int(tape.entries[i + 1].next)
            }
            return .object(members)
        case .array:
            guard Int(entry.count) <= limits.maxArrayElements else {
                throw ConfigError(.tooLarge, "an array in the document at '\(path)' has \(entry.count) elements, more than \(limits.maxArrayElements)")
            }
            var elements: [ConfigNode] = []
            elements.reserveCapacity(Int(entry.count))
            var i = index + 1
            for _ in 0..<Int(entry.count) {
                elements.append(try node(tape, i, path: path, limits: limits, budget: &budget))
                i = Int(tape.entries[i].next)
            }
            return .array(elements)
        case .string:
            return .string(tape.string(at: index))
        case .number:
            let text = tape.numberText(at: index)
            if let value = Int(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else {
                throw ConfigError(.invalidDocument, "the number \(text.prefix(64)) in the document at '\(path)' is out of range")
            }
            return .double(value)
        case .true:
            return .bool(true)
        case .false:
            return .bool(false)
        case .null:
            return .null
        }
    }
}
