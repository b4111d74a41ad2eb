import Foundation
import MicroCore
import MicroTestSupport
import NIOConcurrencyHelpers
import Testing
@testable import MicroMDNS

/// Third parties on the namespace's link: a real avahi-daemon, and a Python peer (dnspython) that
/// speaks go-micro's format as go-micro's server and client do. Both run as separate OS processes.
@Suite(.serialized) struct MDNSInteropTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python/gomicro_peer.py").path

    static func python() throws -> String {
        let python = try testPython()
        do { try ChildProcess.run(python, ["-c", "import dns.message"]) } catch {
            throw EngineMissing(description: "dnspython missing in \(python) (pip install dnspython; ./scripts/test installs it)")
        }
        return python
    }

    @Test func avahiSeesTheSwiftNodeAsADNSSDInstanceWithPortAndTXT() async throws {
        let ns = try NetworkNamespace.create(prefix: "avahi")
        defer { ns.delete() }
        let avahi = try await AvahiProcess(namespace: ns)
        defer { avahi.stop() }
        let registry = MDNSRegistry(configuration: MDNSNamespaceTests.configuration(ns))
        do {
            try await registry.register(MDNSNamespaceTests.record("greeter", node: "greeter-avahi", port: 8181, meta: ["zone": "z1"]), ttl: .seconds(60))
            var lines: [String] = []
            let found = await MDNSNamespaceTests.eventually(.seconds(15)) {
                lines = (try? avahi.browse("_micro._tcp")) ?? []
                return lines.contains { $0.hasPrefix("=") && $0.contains("greeter-avahi") }
            }
            #expect(found, "avahi-browse: \(lines)\n\(avahi.log)")
            let line = lines.first { $0.hasPrefix("=") && $0.contains("greeter-avahi") } ?? ""
            // =;lo;IPv4;greeter-avahi;_micro._tcp;local;micro-127-0-0-1.local;127.0.0.1;8181;"id=..." "name=greeter" ...
            let fields = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            #expect(fields.count >= 10, "\(line)")
            if fields.count >= 10 {
                #expect(fields[1] == "lo" && fields[3] == "greeter-avahi" && fields[4] == "_micro._tcp" && fields[5] == "local")
                #expect(fields[7] == "127.0.0.1" && fields[8] == "8181", "\(line)")
                for pair in ["\"name=greeter\"", "\"version=1.0.0\"", "\"id=greeter-avahi\"", "\"zone=z1\"", "\"protocol=mucp\""] {
                    #expect(fields[9].contains(pair), "\(pair) in \(fields[9])")
                }
            }
            // A goodbye takes it off avahi's list.
            try await registry.deregister(MDNSNamespaceTests.record("greeter", node: "greeter-avahi"))
            let gone = await MDNSNamespaceTests.eventually(.seconds(10)) {
                !((try? avahi.browse("_micro._tcp")) ?? ["?"]).contains { $0.contains("greeter-avahi") }
            }
            #expect(gone, "still listed after the goodbye")
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    @Test func aGoMicroNodeAnnouncedByAPythonPeerIsFoundWithEveryFieldAndItsGoodbyeDeletesIt() async throws {
        let python = try Self.python()
        let ns = try NetworkNamespace.create(prefix: "py")
        defer { ns.delete() }
        let registry = MDNSRegistry(configuration: MDNSNamespaceTests.configuration(ns))
        let watch = try await registry.watch(service: "pysvc")
        let events = NIOLockedValueBox<[RegistryEvent]>([])
        let collector = Task { do { for try await e in watch { events.withLockedValue { $0.append(e) } } } catch {} }
        defer { collector.cancel() }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("py-peer-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: log) }
        let peer = try ns.spawn([python, Self.script, "announce", "pysvc", "0.9.1", "py-node-1", "127.0.0.1", "9191", "--respond", "4"], output: log)
        defer { peer.kill() }
        do {
            var seen: [ServiceRecord] = []
            #expect(await MDNSNamespaceTests.eventually { seen = (try? await registry.getService("pysvc")) ?? []; return !seen.isEmpty },
                    "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            let expected = ServiceRecord(
                name: "pysvc", version: "0.9.1", metadata: [:],
                endpoints: [Endpoint(name: "Py.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                                     response: Value(name: "Rsp", type: "Rsp"), metadata: ["stream": "false"])],
                nodes: [Node(id: "py-node-1", address: "127.0.0.1:9191", metadata: ["protocol": "mucp", "origin": "python", "zone": "z9"])])
            #expect(seen == [expected])
            #expect(events.withLockedValue { $0.first?.action } == .create)
            #expect(((try? await registry.listServices()) ?? []).contains { $0.name == "pysvc" })

            // A fresh registry that missed the announcements finds it by querying (the peer answers as go-micro's server does).
            let late = MDNSRegistry(configuration: MDNSNamespaceTests.configuration(ns))
            let byQuery = await MDNSNamespaceTests.eventually(.seconds(3)) { ((try? await late.getService("pysvc")) ?? []) == [expected] }
            await late.shutdown()
            #expect(byQuery)

            // The peer stops answering, then says goodbye (as go-micro's server does on shutdown).
            peer.kill()
            try ns.run([python, Self.script, "announce", "pysvc", "0.9.1", "py-node-1", "127.0.0.1", "9191", "--goodbye"])
            #expect(await MDNSNamespaceTests.eventually(.seconds(3)) { events.withLockedValue { $0.last?.action } == .delete })
            #expect(try await registry.getService("pysvc").isEmpty)
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    @Test func aPeerThatVanishesWithoutGoodbyeExpiresWithItsTTL() async throws {
        let python = try Self.python()
        let ns = try NetworkNamespace.create(prefix: "py")
        defer { ns.delete() }
        let registry = MDNSRegistry(configuration: MDNSNamespaceTests.configuration(ns))
        do {
            _ = try await registry.watch(service: nil)
            try ns.run([python, Self.script, "announce", "shortlived", "1", "sl-1", "127.0.0.1", "7000", "--ttl", "2"])
            #expect(await MDNSNamespaceTests.eventually(.seconds(2)) { await MDNSNamespaceTests.nodeIDs(registry, "shortlived") == ["sl-1"] })
            let start = ContinuousClock.now
            #expect(await MDNSNamespaceTests.eventually(.seconds(4)) { await MDNSNamespaceTests.nodeIDs(registry, "shortlived").isEmpty })
            #expect(ContinuousClock.now - start > .milliseconds(800), "expired too early")
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    @Test func aGoMicroStyleClientInAnotherProcessFindsAndListsTheSwiftNode() async throws {
        let python = try Self.python()
        let ns = try NetworkNamespace.create(prefix: "py")
        defer { ns.delete() }
        let registry = MDNSRegistry(configuration: MDNSNamespaceTests.configuration(ns))
        do {
            let written = MDNSNamespaceTests.record("swiftsvc", version: "2.0.0", node: "swift-node-1", port: 8282, meta: ["zone": "z2"])
            try await registry.register(written, ttl: .seconds(60))
            let out = try ns.run([python, Self.script, "query", "swiftsvc", "--timeout", "1"])
            let lines = out.split(separator: "\n")
            #expect(lines.count == 1, "\(out)")
            let node = try JSONSerialization.jsonObject(with: Data((lines.first ?? "{}").utf8)) as? [String: Any] ?? [:]
            #expect(node["id"] as? String == "swift-node-1")
            #expect(node["address"] as? String == "127.0.0.1:8282")
            #expect(node["service"] as? String == "swiftsvc" && node["version"] as? String == "2.0.0")
            #expect(node["metadata"] as? [String: String] == ["protocol": "mucp", "zone": "z2"])
            let endpoints = node["endpoints"] as? [[String: Any]] ?? []
            #expect(endpoints.first?["name"] as? String == "Greeter.Hello")
            let list = try ns.run([python, Self.script, "list", "--timeout", "1"])
            #expect(list.contains("\"swiftsvc\""), "\(list)")
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }
}
