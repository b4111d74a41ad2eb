import Foundation
import MicroCore
@testable import MicroNATS
import MicroTestSupport
@testable import NATSClient
import NIOCore
import Testing

extension NATSSuite {
    /// Interop with nats-py: Python peers speak go-micro's NATS formats to the Swift broker, registry and transport.
    @Suite struct NATSInteropTests {
        typealias K = NATSTestKit

        /// Waits for a message on `subject` of `connection` (the Python side says it is ready).
        func awaitReady(_ ready: NATSSubscription, _ process: Task<ChildProcess.Outcome, any Error>) async throws {
            let got = await withTaskGroup(of: Bool.self) { group in
                group.addTask { var it = ready.makeAsyncIterator(); return await it.next() != nil }
                group.addTask { try? await Task.sleep(for: .seconds(15)); return false }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !got {
                let result = try await process.value
                Issue.record("python did not get ready: status \(result.status) \(result.stderr)")
                throw EngineMissing(description: "python peer failed")
            }
        }

        @Test func pythonSubscriberDecodesWhatTheSwiftBrokerPublishes() async throws {
            let python = try testPython()
            let server = try await NATSServerProcess()
            let control = try await K.connect(server)
            let ready = try control.subscribe("interop.ready.1")
            try await control.flush()
            let process = Task { try await K.run(python, [K.script("broker_subscriber.py"), server.url, "interop.events", "3", "interop.ready.1"]) }
            try await awaitReady(ready, process)

            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            for n in 0..<3 {
                try await broker.publish("interop.events", BrokerMessage(
                    header: ["Micro-Topic": "interop.events", "Content-Type": "application/json", "Micro-Id": "sw-\(n)"],
                    body: Array("{\"n\":\(n),\"text\":\"héllo\"}".utf8)))
            }
            let result = try await process.value
            #expect(result.status == 0, "python: \(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            for (n, line) in lines.enumerated() {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(object["subject"] as? String == "interop.events")
                #expect((object["header"] as? [String: String])?["Micro-Id"] == "sw-\(n)")
                #expect((object["header"] as? [String: String])?["Micro-Topic"] == "interop.events")
                #expect(object["body"] as? String == "{\"n\":\(n),\"text\":\"héllo\"}")
            }
            await broker.shutdown()
            await control.close()
        }

        @Test func swiftBrokerReceivesWhatPythonPublishesInGoMicrosEnvelope() async throws {
            let python = try testPython()
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let got = K.Box<[BrokerEvent]>([])
            _ = try await broker.subscribe("interop.in", queue: "swift") { e in got.update { $0.append(e) } }
            let result = try await K.run(python, [K.script("broker_publisher.py"), server.url, "interop.in", "5"])
            #expect(result.status == 0, "python: \(result.stderr)")
            #expect(await K.eventually { got.value.count == 5 })
            for (n, event) in got.value.enumerated() {
                #expect(event.topic == "interop.in")
                #expect(event.message.header("Micro-Id") == "py-\(n)")
                #expect(event.message.header("X-Origin") == "nats-py")
                let body = try JSONSerialization.jsonObject(with: Data(event.message.body)) as? [String: Any]
                #expect(body?["n"] as? Int == n)
                #expect(body?["from"] as? String == "python")
            }
            await broker.shutdown()
        }

        @Test func pythonNodeOnTheRegistryLikeAGoNode() async throws {
            let python = try testPython()
            let server = try await NATSServerProcess()
            let registry = NATSRegistry(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let swiftService = ServiceRecord(name: "swiftsvc", version: "1.0.0", metadata: ["lang": "swift"],
                                             endpoints: [Endpoint(name: "Swift.Call", metadata: ["stream": "false"])],
                                             nodes: [Node(id: "swiftsvc-1", address: "micro.rpc.abc", metadata: ["protocol": "nats"])])
            try await registry.register(swiftService, ttl: .seconds(60))
            let log = K.WatchLog(try await registry.watch(service: "pysvc"))
            defer { log.stop() }

            let control = try await K.connect(server)
            let ready = try control.subscribe("interop.ready.3")
            try await control.flush()
            let process = Task { try await K.run(python, [K.script("registry_peer.py"), server.url, "swiftsvc", "interop.ready.3", "interop.stop.3"]) }
            try await awaitReady(ready, process)

            // The Python node answers Swift's queries and its announcement reached the watch.
            let found = try await registry.getService("pysvc")
            #expect(found.count == 1)
            #expect(found.first?.nodes.map(\.id) == ["pysvc-1"])
            #expect(found.first?.metadata == ["lang": "python"])
            #expect(found.first?.endpoints.first?.request?.name == "Req")
            #expect(try await registry.listServices().map(\.name) == ["pysvc", "swiftsvc"])
            let created = await log.wait(count: 1)
            #expect(created.first?.action == .create)

            try await control.publish("interop.stop.3", payload: ByteBuffer())
            let result = try await process.value
            #expect(result.status == 0, "python: \(result.stderr)")
            // Python's query for the Swift service got the Swift registry's answer.
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let answers = try #require(object["answers"] as? [[String: Any]])
            #expect(answers.count == 1)
            let answer = try JSONDecoder().decode(ServiceRecord.self, from: try JSONSerialization.data(withJSONObject: answers[0]))
            #expect(answer == swiftService)
            // Its goodbye is a delete.
            #expect(await log.wait(count: 2).map(\.action) == [.create, .delete])
            await registry.shutdown()
            await control.close()
        }

        @Test func pythonCallsASwiftServiceOverTheNATSTransport() async throws {
            let python = try testPython()
            let server = try await NATSServerProcess()
            let service = try await NATSTestServer.start(server)
            let result = try await K.run(python, [K.script("rpc_caller.py"), server.url, service.address])
            #expect(result.status == 0, "python: \(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(lines.count == 2)
            let ok = try #require(lines.first ?? nil)
            #expect(ok["body"] as? String == "{\"message\":\"Hello python\"}")
            #expect((ok["headers"] as? [String: String])?["Micro-Id"] == "py-call-1")
            let failed = try #require(lines.last ?? nil)
            let error = MicroError.parse((failed["headers"] as? [String: String])?["Micro-Error"] ?? "")
            #expect(error.code == 404)
            await service.stop()
        }
    }
}
