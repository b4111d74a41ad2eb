import Testing
@testable import MicroRuntime

@Suite struct DependencyGraphTests {
    @Test func wavesPutDependenciesFirstAndIndependentOnesTogether() throws {
        var graph = DependencyGraph()
        graph.add("app", dependsOn: ["b", "c"])
        graph.add("b", dependsOn: ["d"])
        graph.add("c", dependsOn: ["d"])
        graph.add("d", dependsOn: [])
        let waves = try graph.waves()
        #expect(waves.count == 3)
        #expect(waves[0] == ["d"])
        #expect(Set(waves[1]) == ["b", "c"])
        #expect(waves[2] == ["app"])
        #expect(graph.hasDependents("d"))
        #expect(!graph.hasDependents("app"))
    }

    @Test func aCycleIsNamed() {
        var graph = DependencyGraph()
        graph.add("a", dependsOn: ["b"])
        graph.add("b", dependsOn: ["c"])
        graph.add("c", dependsOn: ["a"])
        #expect(throws: RuntimeError.self) { try graph.waves() }
        do {
            _ = try graph.waves()
        } catch let error as RuntimeError {
            #expect(error.code == .cycle)
            #expect(error.detail.contains("a -> b -> c -> a"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func aSelfDependencyIsACycle() {
        var graph = DependencyGraph()
        graph.add("a", dependsOn: ["a"])
        #expect(throws: RuntimeError(.cycle, "the dependencies form a cycle: a -> a")) { try graph.waves() }
    }
}
