/// Services and what each depends on, ordered into waves: each wave's services depend only on
/// earlier waves', so a wave starts in parallel once the waves before it are healthy. A cycle is a
/// ``RuntimeError/Code/cycle`` naming it (`a -> b -> a`).
struct DependencyGraph: Sendable {
    /// Each service's dependencies, by name.
    private(set) var edges: [String: [String]] = [:]
    /// The order services were added (for stable output).
    private var order: [String] = []

    /// Adds `name` depending on `dependencies` (which may be added later).
    mutating func add(_ name: String, dependsOn dependencies: [String]) {
        if edges[name] == nil { order.append(name) }
        edges[name, default: []].append(contentsOf: dependencies.filter { !(edges[name] ?? []).contains($0) })
    }

    /// Whether some service depends on `name`.
    func hasDependents(_ name: String) -> Bool {
        edges.values.contains { $0.contains(name) }
    }

    /// The services in waves, dependencies first; throws ``RuntimeError/Code/cycle`` naming a cycle.
    func waves() throws -> [[String]] {
        try checkAcyclic()
        var level: [String: Int] = [:]
        func depth(_ name: String) -> Int {
            if let known = level[name] { return known }
            let d = (edges[name] ?? []).map { depth($0) + 1 }.max() ?? 0
            level[name] = d
            return d
        }
        var waves: [[String]] = []
        for name in order {
            let d = depth(name)
            while waves.count <= d { waves.append([]) }
            waves[d].append(name)
        }
        return waves
    }

    /// Depth-first search with the path kept, so the first back edge names its cycle.
    private func checkAcyclic() throws {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var path: [String] = []
        func visit(_ name: String) throws {
            switch marks[name] {
            case .done: return
            case .visiting:
                let start = path.firstIndex(of: name) ?? 0
                throw RuntimeError(.cycle, "the dependencies form a cycle: " + (path[start...] + [name]).joined(separator: " -> "))
            case nil: break
            }
            marks[name] = .visiting
            path.append(name)
            for dependency in edges[name] ?? [] { try visit(dependency) }
            path.removeLast()
            marks[name] = .done
        }
        for name in order { try visit(name) }
    }
}
