import AsyncHTTPClient
import Foundation
import MicroKubernetes
import MicroRuntime
import MicroTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The Kubernetes runtime against the fixture API server (no cluster runs here): the objects it
/// makes, rollouts waited for, updates with resourceVersion preconditions, and every failure typed.
@Suite struct KubernetesRuntimeTests {
    static func runtime(_ url: String, token: String = "fixture-token", maxResponseBytes: Int = 8 << 20) -> KubernetesRuntime {
        KubernetesRuntime(configuration: KubernetesConfiguration(server: url, token: token, namespace: "micro",
                                                                 pollInterval: .milliseconds(50), maxResponseBytes: maxResponseBytes))
    }

    static let greeter = ClusterWorkload(name: "go.micro.greeter", version: "1.0.0", image: "localhost/micro-greeter:1",
                                           arguments: ["--verbose"], environment: ["MICRO_REGISTRY": "etcd"], replicas: 2, port: 9090)

    @Test func createWaitUpdateAndDelete() async throws {
        try await KubernetesFixture.with { fixture, url in
            let runtime = Self.runtime(url)
            try await runtime.create(Self.greeter)
            let deployment = try #require(fixture.state.withLock { $0.objects["deployments/micro/go-micro-greeter"]?.object })
            #expect(deployment["spec", "replicas"] == .int(2))
            #expect(deployment["spec", "selector", "matchLabels", "micro.mu/name"] == "go.micro.greeter")
            #expect(deployment["metadata", "labels", "micro.mu/version"] == "1.0.0")
            let container = try #require(deployment["spec", "template", "spec", "containers"].flatMap { if case .array(let c) = $0 { c.first } else { nil } })
            #expect(container["image"] == "localhost/micro-greeter:1")
            #expect(container["args"] == .array(["--verbose"]))
            #expect(container["env"] == .array([.object(["name": "MICRO_REGISTRY", "value": "etcd"]), .object(["name": "MICRO_SERVER_ADDRESS", "value": ":9090"])]))
            let service = try #require(fixture.state.withLock { $0.objects["services/micro/go-micro-greeter"]?.object })
            #expect(service["spec", "selector", "micro.mu/name"] == "go.micro.greeter")
            #expect(service["spec", "ports"] == .array([.object(["name": "micro", "port": .int(9090), "targetPort": .int(9090), "protocol": "TCP"])]))

            #expect(try await runtime.status("go.micro.greeter").ready == false, "not ready before the controller rolled it out")
            let ready = try await runtime.waitReady("go.micro.greeter", timeout: .seconds(10))
            #expect(ready.readyReplicas == 2 && ready.version == "1.0.0")
            #expect(try await runtime.list().map(\.name) == ["go.micro.greeter"])

            var next = Self.greeter
            next.image = "localhost/micro-greeter:2"
            next.version = "1.0.1"
            try await runtime.update(next)
            let updated = try #require(fixture.state.withLock { $0.objects["deployments/micro/go-micro-greeter"]?.object })
            #expect(updated["metadata", "generation"] == .int(2))
            #expect(try await runtime.status("go.micro.greeter").ready == false, "a new generation rolls out again")
            let rolled = try await runtime.waitReady("go.micro.greeter", timeout: .seconds(10))
            #expect(rolled.image == "localhost/micro-greeter:2" && rolled.version == "1.0.1")

            try await runtime.delete("go.micro.greeter")
            #expect(fixture.state.withLock { $0.objects.isEmpty })
            #expect(try await runtime.list().isEmpty)
            await #expect { try await runtime.delete("go.micro.greeter") } throws: { ($0 as? KubernetesError)?.code == .notFound }
        }
    }

    @Test func conflictsAreTypedAndAStaleUpdateIsRetried() async throws {
        try await KubernetesFixture.with { fixture, url in
            let runtime = Self.runtime(url)
            await #expect { try await runtime.update(Self.greeter) } throws: { ($0 as? KubernetesError)?.code == .notFound }
            try await runtime.create(Self.greeter)
            await #expect { try await runtime.create(Self.greeter) } throws: {
                guard let error = $0 as? KubernetesError else { return false }
                return error.code == .alreadyExists && error.status == 409 && error.detail.contains("already exists")
            }
            // Another writer changes the Deployment between the runtime's read and its patch: the
            // patch's resourceVersion no longer matches (409 Conflict); the runtime reads again and wins.
            fixture.state.withLock { $0.conflictOnNextPatch = true; $0.requests = [] }
            var next = Self.greeter
            next.replicas = 3
            try await runtime.update(next)
            let requests = fixture.state.withLock { $0.requests }
            #expect(requests.filter { $0.hasPrefix("PATCH") }.count == 2, "\(requests)")
            let deployment = try #require(fixture.state.withLock { $0.objects["deployments/micro/go-micro-greeter"]?.object })
            #expect(deployment["spec", "replicas"] == .int(3))
            #expect(deployment["metadata", "annotations", "fixture/other-writer"] == "yes", "the other writer's change is kept")
        }
    }

    @Test func failuresAreTypedErrors() async throws {
        try await KubernetesFixture.with { fixture, url in
            await #expect { try await Self.runtime(url, token: "wrong").list() } throws: { ($0 as? KubernetesError)?.code == .unauthorized }
            #expect(throws: KubernetesError.self) { try KubernetesRuntime.objectName(for: "9lives") }
            #expect(try KubernetesRuntime.objectName(for: "Go.Micro_Store") == "go-micro-store")
            var bad = Self.greeter
            bad.port = 0
            await #expect { try await Self.runtime(url).create(bad) } throws: { ($0 as? KubernetesError)?.code == .invalid }

            var stuck = Self.greeter
            stuck.image = "localhost/never-ready:1"
            try await Self.runtime(url).create(stuck)
            await #expect { try await Self.runtime(url).waitReady("go.micro.greeter", timeout: .milliseconds(300)) } throws: {
                ($0 as? KubernetesError)?.code == .notReady && "\($0)".contains("0 of 2 ready")
            }
            // An answer larger than the limit, one that is not JSON, and a server error.
            await #expect { try await Self.runtime(url, maxResponseBytes: 64).list() } throws: { ($0 as? KubernetesError)?.code == .badResponse }
            fixture.state.withLock { $0.brokenAnswer = (200, "{not json") }
            await #expect { try await Self.runtime(url).status("go.micro.greeter") } throws: { ($0 as? KubernetesError)?.code == .badResponse }
            fixture.state.withLock { $0.brokenAnswer = (503, "overloaded") }
            await #expect { try await Self.runtime(url).list() } throws: {
                ($0 as? KubernetesError)?.code == .unavailable && ($0 as? KubernetesError)?.status == 503
            }
            fixture.state.withLock { $0.brokenAnswer = nil }
        }
        // Nothing listens (AsyncHTTPClient tries to connect again until the call's deadline).
        let closed = KubernetesRuntime(configuration: KubernetesConfiguration(server: "http://127.0.0.1:1", requestTimeout: .milliseconds(500)))
        await #expect { try await closed.list() } throws: { ($0 as? KubernetesError)?.code == .unavailable }
    }

    /// The fixture answers `kubectl` (a client no one here wrote) as an API server would, for the
    /// objects the runtime made. kubectl is not installable from the package sources the project
    /// reaches, so without it this check is skipped, on CI too.
    @Test func kubectlReadsWhatTheRuntimeMade() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl") else {
            print("skipping the kubectl check: /usr/bin/kubectl is not installed")
            return
        }
        // kubectl sends no bearer token to a plain-HTTP server: the fixture serves it anonymously here.
        try await KubernetesFixture.with(anonymous: true) { _, url in
            try await Self.runtime(url).create(Self.greeter)
            let cache = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-cache-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: cache) }
            func kubectl(_ arguments: [String]) async throws -> ChildProcess.Outcome {
                try await ChildProcess.outcome("/usr/bin/kubectl", ["--server", url, "--cache-dir", cache, "-n", "micro"] + arguments,
                                               environment: ["HOME": cache, "PATH": "/usr/bin:/bin"], timeout: .seconds(60))
            }
            let image = try await kubectl(["get", "deployment", "go-micro-greeter", "-o", "jsonpath={.spec.template.spec.containers[0].image}"])
            #expect(image.status == 0 && image.stdout == "localhost/micro-greeter:1", "\(image.stderr)")
            let services = try await kubectl(["get", "services", "-l", "micro.mu/type=service", "-o", "name"])
            #expect(services.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "service/go-micro-greeter", "\(services.stderr)")
            let missing = try await kubectl(["get", "deployment", "absent"])
            #expect(missing.status != 0 && missing.stderr.contains("(NotFound)"), "\(missing.stderr)")
        }
    }

    /// The fixture's own semantics for calls the runtime does not make: a PUT with a stale
    /// resourceVersion conflicts, a selector is immutable, a strategic merge patch is refused.
    @Test func theFixtureKeepsTheAPIsPreconditions() async throws {
        try await KubernetesFixture.with { fixture, url in
            try await Self.runtime(url).create(Self.greeter)
            func send(_ method: HTTPMethod, _ body: FixtureJSON, contentType: String = "application/json") async throws -> Int {
                var request = HTTPClientRequest(url: url + "/apis/apps/v1/namespaces/micro/deployments/go-micro-greeter")
                request.method = method
                request.headers.add(name: "Authorization", value: "Bearer fixture-token")
                request.headers.add(name: "Content-Type", value: contentType)
                request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
                return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code)
            }
            var stale = try #require(fixture.state.withLock { $0.objects["deployments/micro/go-micro-greeter"]?.object })
            stale["spec", "replicas"] = .int(5)
            #expect(try await send(.PUT, stale) == 200)
            #expect(try await send(.PUT, stale) == 409, "the same resourceVersion again is stale")
            #expect(try await send(.PATCH, .object(["spec": .object(["selector": .object(["matchLabels": .object(["x": "y"])])])]),
                                   contentType: "application/merge-patch+json") == 422)
            #expect(try await send(.PATCH, .object([:]), contentType: "application/strategic-merge-patch+json") == 415)
        }
    }
}
