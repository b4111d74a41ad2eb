import Foundation
import Synchronization
import MicroTestSupport
import Testing
@testable import MicroRuntime

/// Two runs of one git URL share one cache clone: they take turns under its file lock, and a build
/// reads the commit its run fetched even when another run fetched a different ref meanwhile.
@Suite struct SourceCacheLockTests {
    @Test func holdersOfOneLockNeverOverlap() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        final class Counter: Sendable { let value = Mutex((now: 0, most: 0)) }
        let counter = Counter()
        let path = scratch.path + "/x.lock"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await FileLock.withLock(path) {
                        counter.value.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                        try await Task.sleep(for: .milliseconds(30))
                        counter.value.withLock { $0.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.value.withLock { $0.most } == 1)
    }

    @Test func aBuildSeesItsOwnRefWhileAnotherRunFetchesAnother() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try Git.repository(scratch, "repo", files: ["which.txt": "main\n"])
        let repo = scratch.url.appendingPathComponent("repo")
        try Git.run(["checkout", "-q", "-b", "other"], in: repo)
        try scratch.write(["which.txt": "other\n"], in: "repo")
        try Git.commit(repo, message: "other")
        let fetcher = SourceFetcher(cache: scratch.path + "/cache", environment: ProcessInfo.processInfo.environment)
        let main = try RuntimeSource(parsing: "file://\(repo.path)@main")
        let other = try RuntimeSource(parsing: "file://\(repo.path)@other")
        let first = try await fetcher.fetch(main)
        // The second run fetches `other` into the same clone while the first one "builds" `main`.
        async let seen: [String] = fetcher.holding(first, of: main) { path in
            let before = try String(contentsOfFile: path + "/which.txt", encoding: .utf8)
            try await Task.sleep(for: .milliseconds(300))
            return [before, try String(contentsOfFile: path + "/which.txt", encoding: .utf8)]
        }
        try await Task.sleep(for: .milliseconds(50))
        let second = try await fetcher.fetch(other)
        let secondSees = try await fetcher.holding(second, of: other) { try String(contentsOfFile: $0 + "/which.txt", encoding: .utf8) }
        #expect(try await seen == ["main\n", "main\n"])
        #expect(secondSees == "other\n")
        // And the first run's commit is checked out again for it when it builds after the second.
        #expect(try await fetcher.holding(first, of: main) { try String(contentsOfFile: $0 + "/which.txt", encoding: .utf8) } == "main\n")
    }
}
