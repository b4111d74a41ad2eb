import Foundation
import Logging
import Synchronization
import Testing
@testable import MicroCore
import MicroTestSupport

// Helpers are prefixed `lr` / `LR` so they cannot clash with other test files' helpers.

/// A scratch directory `<tmp>/<uuid>` holding the registry at `<root>/registry`; removed afterwards.
private func withLRDirectory(_ body: (_ root: String, _ dir: String) async throws -> Void) async throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("swift-micro-local-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try await body(root, root + "/registry")
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
private func lrEventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Consumes a watch in the background, keeping every event.
private final class LRWatchLog: Sendable {
    private final class Events: Sendable {
        let list = Mutex<[RegistryEvent]>([])
    }
    private let events = Events()
    private let task: Task<Void, Never>

    init(_ watch: RegistryWatch) {
        let events = self.events
        task = Task {
            do { for try await e in watch { events.list.withLock { $0.append(e) } } } catch {}
        }
    }

    var all: [RegistryEvent] { events.list.withLock { $0 } }
    func stop() { task.cancel() }
    deinit { task.cancel() }

    /// Waits until at least `count` events arrived and returns them all.
    func wait(count: Int, timeout: Duration = .seconds(5)) async -> [RegistryEvent] {
        _ = await lrEventually(timeout: timeout) { all.count >= count }
        return all
    }
}

private func lrFiles(under dir: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
    return e.compactMap { $0 as? String }.map { dir + "/" + $0 }
}

private let greeterEndpoints = [
    Endpoint(
        name: "Greeter.Hello",
        request: Value(name: "Request", type: "Request", values: [Value(name: "name", type: "string")]),
        response: Value(name: "Response", type: "Response", values: [
            Value(name: "msg", type: "string"),
            Value(name: "meta", type: "Meta", values: [Value(name: "count", type: "int64")]),
        ]),
        metadata: ["stream": "false"]),
    Endpoint(name: "Greeter.Stream", metadata: ["stream": "true"]),
]

@Suite("LocalRegistry")
struct LocalRegistryTests {
    @Test func roundTripKeepsMetadataAndEndpoints() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir)
            #expect(registry.name == "local")
            #expect(!FileManager.default.fileExists(atPath: dir), "directory is created lazily")
            #expect(try await registry.getService("greeter").isEmpty)

            let service = ServiceRecord(
                name: "greeter", version: "1.2.0", metadata: ["team": "core", "region": "eu"],
                endpoints: greeterEndpoints,
                nodes: [Node(id: "greeter-1", address: "127.0.0.1:8080", metadata: ["protocol": "mucp", "transport": "http"])])
            try await registry.register(service, ttl: .seconds(90))
            #expect(FileManager.default.fileExists(atPath: dir))

            #expect(try await registry.getService("greeter") == [service])
            #expect(try await registry.listServices() == [service])
            #expect(try await registry.getService("other").isEmpty)

            // Another instance on the same directory (another process) sees the same record.
            let other = LocalRegistry(directory: dir)
            #expect(try await other.getService("greeter") == [service])
        }
    }

    @Test func nodeFileFormat() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir)
            try await registry.register(ServiceRecord(name: "greeter", nodes: [Node(id: "n1", address: "h:1")]), ttl: nil)
            try await registry.register(ServiceRecord(name: "greeter", nodes: [Node(id: "n2", address: "h:2")]), ttl: .seconds(30))

            let forever = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/greeter/n1.json"))) as? [String: Any]
            #expect(forever?.keys.sorted() == ["expires", "service"])
            #expect(forever?["expires"] is NSNull)
            let svc = forever?["service"] as? [String: Any]
            #expect(svc?["name"] as? String == "greeter")
            #expect((svc?["nodes"] as? [[String: Any]])?.map { $0["id"] as? String } == ["n1"])

            let timed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/greeter/n2.json"))) as? [String: Any]
            let expires = try #require((timed?["expires"] as? NSNumber)?.doubleValue)
            #expect(abs(expires - (Date().timeIntervalSince1970 + 30)) < 5)
            #expect(lrFiles(under: dir + "/greeter").allSatisfy { !$0.contains(".tmp-") }, "no temp files left behind")
        }
    }

    @Test func nodesOfOneVersionAreMerged() async throws {
        try await withLRDirectory { _, dir in
            let a = LocalRegistry(directory: dir)
            let b = LocalRegistry(directory: dir)
            try await a.register(ServiceRecord(name: "greeter", version: "1", metadata: ["rev": "old"],
                                               nodes: [Node(id: "greeter-b", address: "h:2")]), ttl: .seconds(60))
            try await Task.sleep(for: .milliseconds(30))
            try await b.register(ServiceRecord(name: "greeter", version: "1", metadata: ["rev": "new"],
                                               nodes: [Node(id: "greeter-a", address: "h:1")]), ttl: .seconds(60))
            try await b.register(ServiceRecord(name: "greeter", version: "2", nodes: [Node(id: "greeter-c", address: "h:3")]), ttl: nil)
            try await b.register(ServiceRecord(name: "aardvark", nodes: [Node(id: "x", address: "h:4")]), ttl: nil)

            let records = try await a.getService("greeter")
            #expect(records.map(\.version) == ["1", "2"])
            #expect(records.first?.nodes.map(\.id) == ["greeter-a", "greeter-b"])
            #expect(records.first?.metadata == ["rev": "new"], "record details come from the newest node file")
            #expect(records.last?.nodes.map(\.id) == ["greeter-c"])

            let all = try await a.listServices()
            #expect(all.map { "\($0.name)@\($0.version)" } == ["aardvark@latest", "greeter@1", "greeter@2"])
        }
    }

    @Test func ttlExpiryAndHeartbeat() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir)
            try await registry.register(ServiceRecord(name: "greeter", nodes: [Node(id: "dies", address: "h:1")]), ttl: .seconds(1))
            try await registry.register(ServiceRecord(name: "greeter", nodes: [Node(id: "lives", address: "h:2")]), ttl: .seconds(1))
            try await registry.register(ServiceRecord(name: "forever", nodes: [Node(id: "f", address: "h:3")]), ttl: nil)
            #expect(try await registry.getService("greeter").first?.nodes.count == 2)

            // A heartbeat before the TTL passes keeps a node (now until ~2.7 s); the other one lapses at 1 s.
            try await Task.sleep(for: .milliseconds(700))
            try await registry.register(ServiceRecord(name: "greeter", nodes: [Node(id: "lives", address: "h:2")]), ttl: .seconds(2))
            try await Task.sleep(for: .milliseconds(800))

            #expect(try await registry.getService("greeter").first?.nodes.map(\.id) == ["lives"])
            #expect(try await registry.listServices().map(\.name) == ["forever", "greeter"])

            try await Task.sleep(for: .milliseconds(1400))
            #expect(try await registry.getService("greeter").isEmpty)
            #expect(try await registry.listServices().map(\.name) == ["forever"])
        }
    }

    @Test func longExpiredFilesAreDeletedRecentlyExpiredKept() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir)
            try FileManager.default.createDirectory(atPath: dir + "/greeter", withIntermediateDirectories: true)
            let now = Date().timeIntervalSince1970
            func write(_ id: String, expires: Double) throws {
                let json = #"{"service":{"name":"greeter","version":"1","nodes":[{"id":"\#(id)","address":"h:1"}]},"expires":\#(expires)}"#
                try Data(json.utf8).write(to: URL(fileURLWithPath: dir + "/greeter/\(id).json"))
            }
            try write("ancient", expires: now - 100)
            try write("recent", expires: now - 2)
            try write("alive", expires: now + 100)

            #expect(try await registry.getService("greeter").first?.nodes.map(\.id) == ["alive"])
            #expect(!FileManager.default.fileExists(atPath: dir + "/greeter/ancient.json"), "expired long ago: removed")
            #expect(FileManager.default.fileExists(atPath: dir + "/greeter/recent.json"), "within the grace period: kept")
        }
    }

    @Test func deregisterRemovesNodes() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir)
            let n1 = Node(id: "n1", address: "h:1"), n2 = Node(id: "n2", address: "h:2"), n3 = Node(id: "n3", address: "h:3")
            try await registry.register(ServiceRecord(name: "greeter", version: "1", nodes: [n1, n2]), ttl: nil)
            try await registry.register(ServiceRecord(name: "greeter", version: "2", nodes: [n3]), ttl: nil)

            try await registry.deregister(ServiceRecord(name: "greeter", version: "1", nodes: [n1]))
            #expect(try await registry.getService("greeter").map { $0.nodes.map(\.id) } == [["n2"], ["n3"]])

            // A node listed under another version is not removed.
            try await registry.deregister(ServiceRecord(name: "greeter", version: "1", nodes: [n3]))
            #expect(try await registry.getService("greeter").map { $0.nodes.map(\.id) } == [["n2"], ["n3"]])

            // No nodes listed: every node of that version goes, other versions stay.
            try await registry.deregister(ServiceRecord(name: "greeter", version: "1"))
            #expect(try await registry.getService("greeter").map(\.version) == ["2"])

            try await registry.deregister(ServiceRecord(name: "greeter", version: "2", nodes: [n3]))
            #expect(try await registry.getService("greeter").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: dir + "/greeter"), "empty service directory removed")

            // Deregistering what is not there is fine; re-registering recreates the directory.
            try await registry.deregister(ServiceRecord(name: "greeter", version: "2", nodes: [n3]))
            try await registry.register(ServiceRecord(name: "greeter", version: "2", nodes: [n3]), ttl: nil)
            #expect(try await registry.getService("greeter").map(\.version) == ["2"])
        }
    }

    @Test func watchReportsCreateUpdateDelete() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir, pollInterval: .milliseconds(50))
            let writer = LocalRegistry(directory: dir)
            let log = LRWatchLog(try await registry.watch(service: "greeter"))
            defer { log.stop() }
            let n1 = Node(id: "n1", address: "h:1"), n2 = Node(id: "n2", address: "h:2")

            try await writer.register(ServiceRecord(name: "greeter", version: "1", nodes: [n1]), ttl: .seconds(30))
            var events = await log.wait(count: 1)
            #expect(events.map(\.action) == [.create])
            #expect(events.last?.service.nodes == [n1])

            try await writer.register(ServiceRecord(name: "other", nodes: [n1]), ttl: nil)  // not watched
            try await writer.register(ServiceRecord(name: "greeter", version: "1", nodes: [n2]), ttl: .seconds(30))
            events = await log.wait(count: 2)
            #expect(events.map(\.action) == [.create, .update])
            #expect(events.last?.service.nodes == [n1, n2])

            // A heartbeat changes nothing a watcher cares about.
            try await writer.register(ServiceRecord(name: "greeter", version: "1", nodes: [n1]), ttl: .seconds(30))
            try await Task.sleep(for: .milliseconds(250))
            #expect(log.all.count == 2)

            try await writer.deregister(ServiceRecord(name: "greeter", version: "1", nodes: [n1]))
            events = await log.wait(count: 3)
            #expect(events.map(\.action) == [.create, .update, .update])
            #expect(events.last?.service.nodes == [n2])

            try await writer.deregister(ServiceRecord(name: "greeter", version: "1", nodes: [n2]))
            events = await log.wait(count: 4)
            #expect(events.map(\.action) == [.create, .update, .update, .delete])
            #expect(events.last?.service.nodes == [n2], "delete carries the removed nodes")
            #expect(events.allSatisfy { $0.service.name == "greeter" })
        }
    }

    @Test func watchAllServicesSeesDeleteOnExpiry() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir, pollInterval: .milliseconds(50))
            // Registered by a "process" that then dies without deregistering (kill -9).
            try await LocalRegistry(directory: dir).register(
                ServiceRecord(name: "crashy", nodes: [Node(id: "c1", address: "h:1")]), ttl: .seconds(2))
            let log = LRWatchLog(try await registry.watch(service: nil))
            defer { log.stop() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(log.all.isEmpty, "nodes present when the watch starts are not reported")

            let events = await log.wait(count: 1, timeout: .seconds(5))
            #expect(events.map(\.action) == [.delete])
            #expect(events.first?.service.name == "crashy")
            #expect(events.first?.service.nodes.map(\.id) == ["c1"])
        }
    }

    #if os(Linux)
    /// With a 30 s poll, only the directory's change notifications can make these events arrive in time:
    /// one service's watch (whose directory does not exist yet) and a watch of every service.
    @Test func watchesWakeOnFileChangesWithoutWaitingForThePoll() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir, pollInterval: .seconds(30))
            let writer = LocalRegistry(directory: dir)
            let one = LRWatchLog(try await registry.watch(service: "fresh"))
            let all = LRWatchLog(try await registry.watch(service: nil))
            defer { one.stop(); all.stop() }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            try await writer.register(ServiceRecord(name: "fresh", version: "1", nodes: [Node(id: "f1", address: "h:1")]), ttl: .seconds(30))
            #expect(await one.wait(count: 1, timeout: .seconds(5)).map(\.action) == [.create])
            #expect(await all.wait(count: 1, timeout: .seconds(5)).map(\.action) == [.create])
            try await writer.deregister(ServiceRecord(name: "fresh", version: "1", nodes: [Node(id: "f1", address: "h:1")]))
            #expect(await one.wait(count: 2, timeout: .seconds(5)).map(\.action) == [.create, .delete])
            #expect(ContinuousClock.now - start < .seconds(10), "the 30 s poll would be later")
        }
    }
    #endif

    @Test func watchPollingStopsWithItsConsumer() async throws {
        try await withLRDirectory { _, dir in
            let registry = LocalRegistry(directory: dir, pollInterval: .milliseconds(20))
            #expect(registry.activeWatchCount == 0)

            let log = LRWatchLog(try await registry.watch(service: nil))
            #expect(registry.activeWatchCount == 1)
            log.stop()
            #expect(await lrEventually { registry.activeWatchCount == 0 }, "cancelling the consumer stops polling")

            // A watch dropped without ever being iterated stops too.
            do { _ = try await registry.watch(service: "greeter") }
            #expect(await lrEventually { registry.activeWatchCount == 0 }, "dropping the stream stops polling")
        }
    }

    @Test func corruptFilesAreSkipped() async throws {
        try await withLRDirectory { root, dir in
            let registry = LocalRegistry(directory: dir)
            let good = ServiceRecord(name: "greeter", nodes: [Node(id: "good", address: "h:1")])
            try await registry.register(good, ttl: nil)
            let sdir = dir + "/greeter"
            try Data([0xFF, 0x00, 0x13, 0x37, 0xDE, 0xAD]).write(to: URL(fileURLWithPath: sdir + "/garbage.json"))
            try Data(#"{"service":{"name":"greeter","nodes":[{"id":"trunc"#.utf8).write(to: URL(fileURLWithPath: sdir + "/trunc.json"))
            let huge = String(repeating: "x", count: 1_200_000)
            let big = #"{"service":{"name":"greeter","version":"latest","metadata":{"pad":"\#(huge)"},"nodes":[{"id":"big","address":"h:9"}]},"expires":null}"#
            try Data(big.utf8).write(to: URL(fileURLWithPath: sdir + "/big.json"))
            // A valid record filed under the wrong node name.
            let misfiled = #"{"service":{"name":"greeter","nodes":[{"id":"someone-else","address":"h:8"}]},"expires":null}"#
            try Data(misfiled.utf8).write(to: URL(fileURLWithPath: sdir + "/misfiled.json"))
            try FileManager.default.createDirectory(atPath: sdir + "/dir.json", withIntermediateDirectories: true)
            try Data("ignored".utf8).write(to: URL(fileURLWithPath: sdir + "/README.txt"))
            try Data("junk".utf8).write(to: URL(fileURLWithPath: dir + "/stray-file"))

            #expect(try await registry.getService("greeter") == [good])
            #expect(try await registry.listServices() == [good])
            // Twice: still fine, and each bad file is remembered as already reported.
            #expect(try await registry.getService("greeter") == [good])
            for bad in ["garbage", "trunc", "big", "misfiled", "dir"] {
                #expect(registry.hasWarned(about: sdir + "/\(bad).json"), "\(bad).json reported")
            }
            #expect(!registry.hasWarned(about: sdir + "/good.json"))
            #expect(!registry.hasWarned(about: sdir + "/README.txt"))
            _ = root
        }
    }

    @Test func unreadableFilesAreOneWarningPerRead() async throws {
        try await withLRDirectory { _, dir in
            let log = LogCapture()
            let registry = LocalRegistry(directory: dir, logger: log.logger)
            var warnings: [String] { log.lines(atLeast: .warning) }
            let good = ServiceRecord(name: "greeter", nodes: [Node(id: "good", address: "h:1")])
            try await registry.register(good, ttl: nil)
            for i in 0..<500 { try Data("junk".utf8).write(to: URL(fileURLWithPath: dir + "/greeter/junk-\(i).json")) }
            #expect(try await registry.listServices() == [good])
            #expect(warnings.count == 1, "\(warnings.prefix(3))")
            #expect(warnings.first?.hasPrefix("skipped 500 unreadable registry files in \(dir)") == true, "\(warnings)")
            #expect(warnings.first?.contains("greeter/junk-") == true, "names the first few: \(warnings)")
            // Already reported: later reads add nothing; a new bad file is one more line, counting only it.
            #expect(try await registry.getService("greeter") == [good])
            #expect(warnings.count == 1)
            try Data("junk".utf8).write(to: URL(fileURLWithPath: dir + "/greeter/late.json"))
            _ = try await registry.listServices()
            #expect(warnings.count == 2 && warnings.last?.hasPrefix("skipped 1 unreadable registry file in") == true,
                    "\(warnings)")
        }
    }

    @Test func createdDirectoriesAndFilesArePrivate() async throws {
        try await withLRDirectory { root, _ in
            // A registry whose parent does not exist yet either, as `~/.micro/registry` on first use.
            let home = root + "/home"
            let dir = home + "/registry"
            let registry = LocalRegistry(directory: dir)
            try await registry.register(ServiceRecord(name: "greeter", nodes: [Node(id: "n1", address: "h:1")]), ttl: .seconds(60))
            func mode(_ path: String) -> UInt32 {
                var st = stat()
                return stat(path, &st) == 0 ? UInt32(st.st_mode) & 0o777 : 0
            }
            #expect(mode(home) == 0o700)
            #expect(mode(dir) == 0o700)
            #expect(mode(dir + "/greeter") == 0o700)
            #expect(mode(dir + "/greeter/n1.json") == 0o600)
            // A heartbeat rewrites the file: still private.
            try await registry.register(ServiceRecord(name: "greeter", nodes: [Node(id: "n1", address: "h:1")]), ttl: .seconds(60))
            #expect(mode(dir + "/greeter/n1.json") == 0o600)
            // A directory that already exists keeps its mode.
            let shared = root + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o750])
            try await LocalRegistry(directory: shared).register(ServiceRecord(name: "greeter", nodes: [Node(id: "n2", address: "h:2")]), ttl: nil)
            #expect(mode(shared) == 0o750)
            #expect(mode(shared + "/greeter") == 0o700)
        }
    }

    @Test func concurrentWritersNeverTearReads() async throws {
        try await withLRDirectory { _, dir in
            let ids = (0..<8).map { "greeter-\($0)" }
            func record(_ id: String, _ beat: Int) -> ServiceRecord {
                ServiceRecord(name: "greeter", version: "1", metadata: ["beat": "\(beat)"], endpoints: greeterEndpoints,
                              nodes: [Node(id: id, address: "127.0.0.1:\(9000 + beat)", metadata: ["beat": "\(beat)", "pad": String(repeating: "p", count: 2000)])])
            }
            // Every node exists before the reader starts.
            for id in ids { try await LocalRegistry(directory: dir).register(record(id, 0), ttl: .seconds(60)) }

            let reader = LocalRegistry(directory: dir)
            let problems = try await withThrowingTaskGroup(of: [String].self) { group in
                for id in ids {
                    group.addTask {
                        let writer = LocalRegistry(directory: dir)  // one per "process"
                        for beat in 1...50 { try await writer.register(record(id, beat), ttl: .seconds(60)) }
                        return []
                    }
                }
                group.addTask {
                    var problems: [String] = []
                    for i in 0..<200 {
                        do {
                            let records = try await reader.getService("greeter")
                            let seen = records.flatMap(\.nodes).map(\.id)
                            if records.count != 1 || seen != ids { problems.append("read \(i): saw \(seen)") }
                        } catch {
                            problems.append("read \(i): \(error)")
                        }
                        if i % 20 == 0 { await Task.yield() }
                    }
                    return problems
                }
                var all: [String] = []
                for try await p in group { all += p }
                return all
            }
            #expect(problems.count == 0, "first problems: \(problems.prefix(3))")
            let files = lrFiles(under: dir + "/greeter")
            #expect(files.allSatisfy { !$0.contains("/.tmp-") }, "no temp files left: \(files)")
            let final = try await reader.getService("greeter")
            #expect(final.first?.nodes.allSatisfy { $0.metadata["beat"] == "50" } == true)
            for id in ids { #expect(!reader.hasWarned(about: dir + "/greeter/\(id).json")) }
        }
    }

    @Test func namesCannotEscapeTheDirectory() async throws {
        try await withLRDirectory { root, dir in
            let registry = LocalRegistry(directory: dir)
            let names = ["../evil", "..", ".", ".hidden", "a/b", "a%2Fb", "/abs/path", "nul\u{0}byte", "ünïcode ✓", String(repeating: "long/", count: 80)]
            for (i, name) in names.enumerated() {
                try await registry.register(ServiceRecord(name: name, nodes: [Node(id: "../../node-\(i)/x", address: "h:\(i)")]), ttl: nil)
            }
            let rootEntries = try FileManager.default.contentsOfDirectory(atPath: root)
            #expect(rootEntries == ["registry"], "nothing written beside the registry directory")
            #expect(!FileManager.default.fileExists(atPath: "/abs/path"))
            let files = lrFiles(under: dir)
            #expect(files.allSatisfy { !$0.dropFirst(dir.count).contains("/../") })
            // One directory per service, each with exactly one node file, all directly inside.
            let serviceDirs = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(serviceDirs.count == names.count)
            #expect(serviceDirs.allSatisfy { !$0.hasPrefix(".") && !$0.contains("/") && $0.utf8.count < 200 })
            for sd in serviceDirs {
                #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/" + sd).count == 1)
            }

            for (i, name) in names.enumerated() {
                let found = try await registry.getService(name)
                #expect(found.map(\.name) == [name])
                #expect(found.first?.nodes.map(\.id) == ["../../node-\(i)/x"])
            }
            #expect(Set(try await registry.listServices().map(\.name)) == Set(names))

            await #expect(throws: (any Error).self) {
                try await registry.register(ServiceRecord(name: "", nodes: [Node(id: "x", address: "h:1")]), ttl: nil)
            }
            await #expect(throws: (any Error).self) {
                try await registry.register(ServiceRecord(name: "ok", nodes: [Node(id: "", address: "h:1")]), ttl: nil)
            }
            #expect(try await registry.getService("").isEmpty)
            #expect(try LocalRegistry.escape("a/b") != LocalRegistry.escape("a%2Fb"))
            #expect(try LocalRegistry.escape("greeter-1.0_x") == "greeter-1.0_x")
        }
    }

    @Test func defaultDirectoryFromEnvironment() {
        #expect(LocalRegistry.defaultDirectory(environment: MicroEnvironment(["MICRO_REGISTRY_ADDRESS": "/srv/reg", "MICRO_HOME": "/m", "HOME": "/h"])) == "/srv/reg")
        #expect(LocalRegistry.defaultDirectory(environment: MicroEnvironment(["MICRO_REGISTRY_ADDRESS": "", "MICRO_HOME": "/m", "HOME": "/h"])) == "/m/registry")
        #expect(LocalRegistry.defaultDirectory(environment: MicroEnvironment(["HOME": "/h"])) == "/h/.micro/registry")
        #expect(LocalRegistry(directory: "/x/y").directory == "/x/y")
    }

    @Test func diffFollowsRegistryStateSemantics() {
        let a = Node(id: "a", address: "h:1"), b = Node(id: "b", address: "h:2")
        let v1 = ServiceRecord(name: "s", version: "1", nodes: [a])
        let v1ab = ServiceRecord(name: "s", version: "1", nodes: [a, b])
        #expect(LocalRegistry.diff([], [v1]) == [RegistryEvent(action: .create, service: v1)])
        #expect(LocalRegistry.diff([v1], [v1]).isEmpty)
        #expect(LocalRegistry.diff([v1], [v1ab]) == [RegistryEvent(action: .update, service: v1ab)])
        #expect(LocalRegistry.diff([v1ab], []) == [RegistryEvent(action: .delete, service: v1ab)])
        var changed = v1
        changed.metadata = ["k": "v"]
        #expect(LocalRegistry.diff([v1], [changed]) == [RegistryEvent(action: .update, service: changed)])
    }
}
