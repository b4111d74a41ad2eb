import Foundation
import Micro
import MicroCore
import MicroTestSupport
import RuntimeTestSupport
import Testing
@testable import MicroRuntime

/// The runtime as a service (`runtime`) reached over RPC, as the CLI reaches it: a build failure's
/// compiler error is in `Runtime.Read` (what `micro ps` prints) and `Runtime.Logs` (`micro logs`);
/// errors cross the wire typed.
@Suite(.serialized) struct RuntimeServiceTests {
    @Test func aCompilerErrorIsShownByReadAndLogsOverRPC() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let home = scratch.path + "/home"
        try Git.repository(scratch, "broken", files: TinyPackage.files(product: "broken", mainBody: "let n: Int = \"not a number\"\nprint(n)\n"))
        let environment = RuntimeHarness.environment(home: home)
        let service = try MicroService(name: RuntimeHandler.serviceName, environment: environment)
        let runtime = ProcessRuntime(options: RuntimeHarness.options(home: home), store: service.store,
                                     health: RegistryHealthCheck(registry: service.registry, client: service.client))
        try await RuntimeServing.serving(runtime, on: service, environment: environment) { runtimeClient, client in
            #expect(try await runtimeClient.create(source: "file://\(scratch.path)/broken@main", timeout: .seconds(60)) == ["broken"])
            var record: RuntimeServiceStatus?
            let buildDeadline = ContinuousClock.now + .seconds(600)
            while ContinuousClock.now < buildDeadline {
                record = try await runtimeClient.list("broken").first
                if record?.state.status == .failed { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let error = try #require(record?.state.error)
            #expect(error.contains("buildFailed"))
            #expect(error.contains("cannot convert value of type 'String' to specified type 'Int'"))
            var lines: [String] = []
            try await runtimeClient.logs("broken", count: 500, follow: false) { lines.append($0) }
            #expect(lines.contains { $0.contains("error: cannot convert value of type 'String' to specified type 'Int'") })

            await #expect { try await runtimeClient.create(source: "ftp://example.com/x", timeout: .seconds(5)) } throws: {
                guard let e = $0 as? MicroError else { return false }
                return e.code == 400 && e.detail.contains("badSource")
            }
            await #expect { try await runtimeClient.delete("absent", timeout: .seconds(5)) } throws: { ($0 as? MicroError)?.code == 404 }

            // `micro run --container`: the runtime kind crosses the wire; the static build's compiler error is shown the same way.
            #expect(try await runtimeClient.create(source: "file://\(scratch.path)/broken@main", name: "boxed", kind: .container,
                                                   timeout: .seconds(60)) == ["boxed"])
            var boxed: RuntimeServiceStatus?
            while ContinuousClock.now < buildDeadline {
                boxed = try await runtimeClient.list("boxed").first
                if boxed?.state.status == .failed { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(boxed?.runtime == "container")
            #expect(boxed?.state.error?.contains("buildFailed") == true)
            var boxedLines: [String] = []
            try await runtimeClient.logs("boxed", count: 500, follow: false) { boxedLines.append($0) }
            #expect(boxedLines.contains { $0.contains("--static-swift-stdlib") })
            let unknownKind = RuntimeCreateRequest(service: RuntimeWireService(name: nil, version: nil, source: "file://\(scratch.path)/broken", metadata: nil),
                                                   options: RuntimeCreateOptions(runtime: "vm"))
            await #expect { try await client.call(RuntimeHandler.serviceName, "Runtime.Create", unknownKind, as: RuntimeCreateResponse.self) } throws: {
                guard let e = $0 as? MicroError else { return false }
                return e.code == 400 && e.detail.contains("runtime 'vm' is not one of process, container")
            }
            try await runtimeClient.delete("boxed", timeout: .seconds(10))
            try await runtimeClient.delete("broken", timeout: .seconds(10))
            #expect(try await runtimeClient.list().isEmpty)
        }
    }
}
