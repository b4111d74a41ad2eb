import AsyncHTTPClient
import Foundation
import Micro
import MicroCore
@testable import MicroRuntime
import MicroTestSupport
import NIOCore
import NIOSSL
import RuntimeTestSupport
import Synchronization
import Testing
@testable import MicroKubernetes

/// `micro run --kubernetes` end to end, with no cluster: the runtime service (over RPC, as the CLI
/// reaches it) fetches a git source, builds it static, packages it with buildah, pushes it to a real
/// registry (Debian's docker-registry on 127.0.0.1), and rolls out a Deployment naming the pushed
/// image on the fixture API server, its dependency rolled out first; `ps` shows the Deployment and
/// its ready replicas, `logs` reads the pods' logs through the API (and follows them), `update`
/// pushes a new image and patches the Deployment, a restarted runtime adopts the service, `kill`
/// deletes the objects. Fails on CI when the registry, buildah or podman is missing.
@Suite(.serialized) struct KubernetesRuntimeServiceTests {
    /// Whether the registry and the image tools are here; on CI their absence is an error.
    static func toolsPresent() throws -> Bool {
        var missing: [String] = []
        if (try? ImageRegistryProcess.binary()) == nil { missing.append("docker-registry") }
        for tool in ["buildah", "podman"] where !FileManager.default.isExecutableFile(atPath: "/usr/bin/\(tool)") { missing.append(tool) }
        if missing.isEmpty { return true }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            throw EngineMissing(description: "\(missing.joined(separator: ", ")) required on CI (scripts/test installs them)")
        }
        print("skipping the Kubernetes runtime service test: \(missing.joined(separator: ", ")) not installed")
        return false
    }

    /// Runtime options for a test under `home`, pushing to `registry` (plain HTTP).
    static func options(home: String, registry: String, healthTimeout: Duration = .seconds(20)) throws -> RuntimeOptions {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MICRO_") }
        environment["MICRO_HOME"] = home
        environment["MICRO_REGISTRY"] = "etcd"   // passed to the pods, as the runtime's MICRO_* are
        environment["MICRO_RUNTIME_KUBERNETES_TOKEN"] = "never-passed-on"
        return RuntimeOptions(home: home, environment: environment, healthTimeout: healthTimeout,
                              imageRegistry: try ImageRegistry(address: registry + "/micro", tlsVerify: false))
    }

    static func cluster(_ url: String, requestTimeout: Duration = .seconds(10)) -> KubernetesRuntime {
        KubernetesRuntime(configuration: KubernetesConfiguration(server: url, token: "fixture-token", namespace: "micro",
                                                                 requestTimeout: requestTimeout, pollInterval: .milliseconds(50)))
    }

    /// The podman storage the runtime under `home` uses, removed with its run root.
    static func removeContainerStorage(_ home: String) {
        try? FileManager.default.removeItem(atPath: ContainerRuntime(storage: home + "/runtime/containers", environment: [:]).runRoot)
    }

    /// A GET on the registry's HTTP API: status, headers, body.
    static func registryGet(_ address: String, _ path: String, accept: String = "application/json") async throws -> (Int, [String: String], String) {
        var request = HTTPClientRequest(url: "http://\(address)\(path)")
        request.headers.add(name: "Accept", value: accept)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return (Int(response.status.code), headers, String(buffer: body))
    }

    /// Waits (bounded) until the record `read` reads is running or failed.
    static func settled(_ name: String, timeout: Duration = .seconds(600), _ read: () async throws -> RuntimeServiceStatus?) async throws -> RuntimeServiceStatus {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let record = try await read(), record.state.status == .running || record.state.status == .failed { return record }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EngineMissing(description: "\(name) neither ran nor failed in \(timeout)")
    }

    /// Runs `body` with a scratch directory, the runtime's home in it, and a registry; removes them afterwards.
    static func withScratchAndRegistry(_ body: (Scratch, String, ImageRegistryProcess) async throws -> Void) async throws {
        let scratch = try Scratch()
        let home = scratch.path + "/home"
        defer {
            removeContainerStorage(home)
            scratch.remove()
        }
        let registry = try await ImageRegistryProcess()
        defer { registry.stop() }
        try await body(scratch, home, registry)
    }

    @Test func runPushRollOutPsLogsUpdateAdoptAndKill() async throws {
        guard try Self.toolsPresent() else { return }
        try await Self.withScratchAndRegistry { scratch, home, registry in
            // The dependency: a prebuilt executable (no build), on Kubernetes too.
            try scratch.write(["micro.yaml": "name: kdep\nruntime: kubernetes\nbinary: /usr/bin/true\n"], in: "kdep")
            let manifest = """
                name: kgreeter
                version: 1.0.0
                runtime: kubernetes
                port: 9090
                replicas: 2
                env: {GREETING: hi}
                depends:
                  - source: \(scratch.path)/kdep

                """
            let commit = try Git.repository(scratch, "kgreeter", files: TinyPackage.files(product: "kgreeter").merging(["micro.yaml": manifest]) { $1 })
            let environment = MicroEnvironment(["MICRO_HOME": home])
            try await withStore(home: home) { store in try await KubernetesFixture.with { fixture, url in
                let options = try Self.options(home: home, registry: registry.address)
                let service = try MicroService(name: RuntimeHandler.serviceName, environment: environment)
                let health = RegistryHealthCheck(registry: service.registry, client: service.client)
                let runtime = ProcessRuntime(options: options, store: store, health: health, cluster: Self.cluster(url))
                try await RuntimeServing.serving(runtime, on: service, environment: environment) { runtimeClient, _ in
                    // `micro run SOURCE` with `runtime: kubernetes` in micro.yaml: the dependency first.
                    #expect(try await runtimeClient.create(source: "file://\(scratch.path)/kgreeter@main", timeout: .seconds(60)) == ["kdep", "kgreeter"])
                    let running = try await Self.settled("kgreeter") { try await runtimeClient.list("kgreeter").first }
                    let log = (try? String(contentsOfFile: home + "/runtime/logs/kgreeter.log", encoding: .utf8)) ?? ""
                    try #require(running.state.status == .running, "\(running.state.error ?? ""): \(log.suffix(3000))")
                    try await Self.checkFirstRollOut(running, commit: commit, registry: registry, fixture: fixture, log: log)
                    try await Self.checkLogs(runtimeClient, fixture: fixture)

                    // `micro update`: a new commit, a new image, the Deployment patched and rolled out again.
                    try scratch.write(["micro.yaml": manifest.replacingOccurrences(of: "version: 1.0.0", with: "version: 1.1.0")], in: "kgreeter")
                    let second = try Git.commit(scratch.url.appendingPathComponent("kgreeter"), message: "1.1.0")
                    try await runtimeClient.update("kgreeter", timeout: .seconds(600))
                    let updated = try #require(try await runtimeClient.list("kgreeter").first)
                    #expect(updated.state.status == .running && updated.version == "1.1.0" && updated.generation == 2)
                    let tag = "1.1.0-\(second.prefix(12))"
                    #expect(updated.image?.hasPrefix("\(registry.address)/micro/kgreeter:\(tag)@sha256:") == true, "\(updated.image ?? "")")
                    let tags = try await Self.registryGet(registry.address, "/v2/micro/kgreeter/tags/list")
                    #expect(tags.2.contains("\"1.0.0-\(commit.prefix(12))\"") && tags.2.contains("\"\(tag)\""), "\(tags)")
                    let deployment = try #require(fixture.state.withLock { $0.objects["deployments/micro/kgreeter"]?.object })
                    #expect(KubernetesFixture.image(of: deployment) == updated.image)
                    #expect(deployment["metadata", "generation"] == .int(2))
                    #expect(deployment["metadata", "labels", "micro.mu/version"] == "1.1.0")
                }

                // A restarted runtime adopts the service from its record: the cluster ran it meanwhile.
                let second = ProcessRuntime(options: options, store: store, health: health, cluster: Self.cluster(url))
                try await RuntimeServing.running(second) {
                    let adopted = try #require(try await second.list("kgreeter").first)
                    #expect(adopted.state.status == .running && adopted.generation == 2)
                    #expect(adopted.cluster?.readyReplicas == 2 && adopted.cluster?.ready == true)
                    // `micro kill`: its Deployment and Service are deleted (and its pods with them).
                    try await second.delete("kgreeter")
                    try await second.delete("kdep")
                    #expect(try await second.list().isEmpty)
                    #expect(fixture.state.withLock { $0.objects.isEmpty })
                    #expect(fixture.pods(in: "micro").isEmpty)
                    let log = try String(contentsOfFile: home + "/runtime/logs/kgreeter.log", encoding: .utf8)
                    #expect(log.contains("adopted after a runtime restart"))
                }
            } }
        }
    }

    /// The first rollout: the image in the registry (tags, manifest digest), the Deployment and
    /// Service naming it, the dependency rolled out before, `micro ps`'s fields.
    static func checkFirstRollOut(_ running: RuntimeServiceStatus, commit: String, registry: ImageRegistryProcess,
                                  fixture: KubernetesFixture, log: String) async throws {
        #expect(running.runtime == "kubernetes" && running.version == "1.0.0")
        let tag = "1.0.0-\(commit.prefix(12))"
        let image = try #require(running.image)
        #expect(image.hasPrefix("\(registry.address)/micro/kgreeter:\(tag)@sha256:"), "\(image)")
        #expect(running.cluster == ClusterWorkloadStatus(name: "kgreeter", object: "deployment/kgreeter", namespace: "micro", image: image,
                                                         replicas: 2, readyReplicas: 2, ready: true))
        #expect(log.contains("--static-swift-stdlib"), "built static")
        // The registry holds the image under its tag, and the manifest there has the digest the Deployment names.
        let tags = try await Self.registryGet(registry.address, "/v2/micro/kgreeter/tags/list")
        #expect(tags.0 == 200 && tags.2.contains("\"\(tag)\""), "\(tags)")
        let accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        let manifest = try await Self.registryGet(registry.address, "/v2/micro/kgreeter/manifests/\(tag)", accept: accept)
        #expect(manifest.0 == 200)
        #expect(image.hasSuffix("@" + (manifest.1["docker-content-digest"] ?? "none")), "\(manifest.1)")
        let layers = (try JSONSerialization.jsonObject(with: Data(manifest.2.utf8)) as? [String: Any])?["layers"] as? [Any]
        #expect((layers?.count ?? 0) >= 1, "\(manifest.2.prefix(500))")

        let deployment = try #require(fixture.state.withLock { $0.objects["deployments/micro/kgreeter"] })
        #expect(KubernetesFixture.image(of: deployment.object) == image)
        #expect(deployment.object["spec", "replicas"] == .int(2))
        var env: [FixtureJSON] = []
        if case .array(let containers)? = deployment.object["spec", "template", "spec", "containers"], case .array(let variables)? = containers.first?["env"] {
            env = variables
        }
        let names = env.compactMap { $0["name"]?.string }
        #expect(env.contains(.object(["name": "GREETING", "value": "hi"])))
        #expect(env.contains(.object(["name": "MICRO_SERVER_ADDRESS", "value": ":9090"])))
        #expect(env.contains(.object(["name": "MICRO_REGISTRY", "value": "etcd"])))
        #expect(!names.contains("MICRO_HOME") && !names.contains { $0.hasPrefix("MICRO_RUNTIME_") }, "\(names)")
        #expect(fixture.state.withLock { $0.objects["services/micro/kgreeter"]?.object["spec", "ports"] } ==
                .array([.object(["name": "micro", "port": .int(9090), "targetPort": .int(9090), "protocol": "TCP"])]))
        // The dependency was rolled out before the service that needs it was created.
        let dependency = try #require(fixture.state.withLock { $0.objects["deployments/micro/kdep"] })
        #expect(deployment.changedAt - dependency.changedAt >= fixture.readyAfter)
    }

    /// `micro logs`: the pods' logs through the API, each line named by its pod; `-f` follows.
    static func checkLogs(_ client: RuntimeClient, fixture: KubernetesFixture) async throws {
        fixture.appendLog("hello from the pod", to: "kgreeter")
        let pods = fixture.pods(in: "micro").filter { $0.deployment == "kgreeter" }.map(\.name)
        #expect(pods.count == 2)
        let lines = LinesSeen()
        try await client.logs("kgreeter", count: 10, follow: false) { lines.add($0) }
        for pod in pods {
            #expect(lines.all.contains("[\(pod)] hello from the pod"), "\(lines.all)")
            #expect(lines.all.contains { $0.hasPrefix("[\(pod)] pod \(pod) runs ") })
        }
        let followed = LinesSeen()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await client.logs("kgreeter", count: 1, follow: true) { line in
                    followed.add(line)
                    if line.hasSuffix("written while followed") { throw CancellationError() }
                }
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while followed.all.count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            fixture.appendLog("written while followed", to: "kgreeter")
            let ended = ContinuousClock.now + .seconds(10)
            while !followed.all.contains(where: { $0.hasSuffix("written while followed") }), ContinuousClock.now < ended {
                try await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
            try? await group.waitForAll()
        }
        #expect(followed.all.prefix(2).allSatisfy { $0.hasSuffix("hello from the pod") }, "\(followed.all)")
        #expect(followed.all.contains { $0.hasSuffix("written while followed") }, "\(followed.all)")
    }

    @Test func badInputsAreTypedErrors() async throws {
        guard try Self.toolsPresent() else { return }
        try await Self.withScratchAndRegistry { scratch, home, registry in
            let readOnly = try await ImageRegistryProcess(readOnly: true)
            defer { readOnly.stop() }
            for name in ["box", "never-ready"] {
                try scratch.write(["micro.yaml": "name: \(name)\nruntime: kubernetes\nbinary: /usr/bin/true\n"], in: name)
            }
            let source = try RuntimeSource(parsing: scratch.path + "/box")
            try await withStore(home: home) { store in try await Self.failures(scratch: scratch, home: home, store: store, source: source,
                                                                               registry: registry, readOnly: readOnly) }
        }
    }

    static func failures(scratch: Scratch, home: String, store: any Store, source: RuntimeSource, registry: ImageRegistryProcess,
                         readOnly: ImageRegistryProcess) async throws {
        let health = UnusedHealthCheck()
        try await KubernetesFixture.with { fixture, url in
            // No API server configured: refused at once.
            let bare = ProcessRuntime(options: try Self.options(home: home, registry: registry.address), store: store, health: health)
            try await RuntimeServing.running(bare) {
                await #expect { try await bare.create(source) } throws: { ($0 as? RuntimeError)?.code == .notConfigured }
            }
            // The API server is down; it refuses (403); the registry refuses the push; a rollout that never finishes.
            let down = ProcessRuntime(options: try Self.options(home: home, registry: registry.address), store: store, health: health,
                                      cluster: Self.cluster("http://127.0.0.1:1", requestTimeout: .milliseconds(500)))
            try await RuntimeServing.running(down) {
                let error = try await Self.failure(down, source, delete: false)
                #expect(error.contains("kubernetes unavailable"), "\(error)")
                // `micro kill` while the API server is down: refused, and the record stays for another try.
                await #expect { try await down.delete("box") } throws: { ($0 as? KubernetesError)?.code == .unavailable }
                #expect(try await down.list("box").first?.state.status == .failed)
            }
            let refused = ProcessRuntime(options: try Self.options(home: home, registry: readOnly.address), store: store, health: health,
                                         cluster: Self.cluster(url))
            try await RuntimeServing.running(refused) {
                let error = try await Self.failure(refused, source)
                #expect(error.contains("runtime pushFailed") && error.contains("buildah push"), "\(error)")
            }
            let runtime = ProcessRuntime(options: try Self.options(home: home, registry: registry.address, healthTimeout: .seconds(1)),
                                         store: store, health: health, cluster: Self.cluster(url))
            try await RuntimeServing.running(runtime) {
                fixture.state.withLock { $0.forbidden = ["POST"] }
                let forbidden = try await Self.failure(runtime, source)
                #expect(forbidden.contains("kubernetes forbidden") && forbidden.contains("HTTP 403"), "\(forbidden)")
                fixture.state.withLock { $0.forbidden = [] }
                // An update whose rollout does not finish: the Deployment is patched back to the previous image.
                try await runtime.create(source)
                let first = try await settled("box", timeout: .seconds(120)) { try await runtime.list("box").first }
                try #require(first.state.status == .running, "\(first.state.error ?? "")")
                fixture.stalledSince.withLock { $0 = .now }
                await #expect { try await runtime.update("box") } throws: { ($0 as? KubernetesError)?.code == .notReady }
                let kept = try #require(try await runtime.list("box").first)
                #expect(kept.generation == first.generation && kept.image == first.image && kept.state.status == .running)
                let deployment = try #require(fixture.state.withLock { $0.objects["deployments/micro/box"]?.object })
                #expect(KubernetesFixture.image(of: deployment) == first.image, "rolled back to the previous image")
                fixture.stalledSince.withLock { $0 = nil }
                try await runtime.delete("box")
                let stuck = try await Self.failure(runtime, try RuntimeSource(parsing: scratch.path + "/never-ready"), name: "never-ready")
                #expect(stuck.contains("kubernetes notReady") && stuck.contains("0 of 1 ready"), "\(stuck)")
                #expect(fixture.state.withLock { $0.objects.isEmpty }, "`micro kill` deleted what the failed rollout left")
            }
            // Malformed pod answers, read through the cluster runtime.
            let cluster = Self.cluster(url)
            try await cluster.apply(ClusterWorkload(name: "box", version: "1", image: "127.0.0.1:1/box:1", arguments: [], environment: [:],
                                                    replicas: 1, port: 8080))
            fixture.state.withLock { $0.logFault = .malformedPodList }
            await #expect { try await cluster.logs("box", lines: 10, follow: false) { _ in } } throws: { ($0 as? KubernetesError)?.code == .badResponse }
            fixture.state.withLock { $0.logFault = .oversizedLog }
            await #expect { try await cluster.logs("box", lines: 10, follow: false) { _ in } } throws: {
                ($0 as? KubernetesError)?.code == .badResponse && "\($0)".contains("larger than")
            }
            fixture.state.withLock { $0.logFault = .endlessLine }
            let lines = LinesSeen()
            try await cluster.logs("box", lines: 10, follow: false) { lines.add($0) }
            #expect(lines.all.count == 2 && lines.all.first?.utf8.count == KubernetesRuntime.maxLogLineBytes + "…".utf8.count)
            #expect(lines.all.last == "after the long line")
            fixture.state.withLock { $0.logFault = nil }
            try await cluster.remove("box")
            await #expect { try await cluster.logs("box", lines: 10, follow: false) { _ in } } throws: { ($0 as? KubernetesError)?.code == .notFound }
        }
    }

    /// The CLI as a person runs it: `micro runtime` configured from the environment, then `micro run
    /// --kubernetes`, `ps`, `logs`, `kill`.
    @Test func theCLIRunsAServiceOnKubernetes() async throws {
        guard try Self.toolsPresent() else { return }
        try await Self.withScratchAndRegistry { scratch, home, registry in
            try scratch.write(["micro.yaml": "name: clibox\nversion: 2.0.0\nbinary: /usr/bin/true\nreplicas: 3\n"], in: "clibox")
            let micro = try builtExecutable("micro")
            try await KubernetesFixture.with { fixture, url in
                let environment = [
                    "MICRO_HOME": home, "MICRO_RUNTIME_KUBERNETES_ADDRESS": url, "MICRO_RUNTIME_KUBERNETES_TOKEN": "fixture-token",
                    "MICRO_RUNTIME_KUBERNETES_NAMESPACE": "micro", "MICRO_RUNTIME_IMAGE_REGISTRY": registry.address + "/cli",
                    "MICRO_RUNTIME_IMAGE_REGISTRY_TLS_VERIFY": "false",
                ]
                let runtime = try SpawnedProcess(micro, ["runtime"], environment: environment, output: scratch.url.appendingPathComponent("runtime.log"))
                defer { runtime.terminate() }
                func cli(_ arguments: [String]) async throws -> ChildProcess.Outcome {
                    try await ChildProcess.outcome(micro, arguments, environment: environment, timeout: .seconds(120))
                }
                let deadline = ContinuousClock.now + .seconds(20)
                while try await cli(["ps"]).status != 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }

                let both = try await cli(["run", "--container", "--kubernetes", scratch.path + "/clibox"])
                #expect(both.status != 0 && both.stderr.contains("exclude each other"), "\(both.stderr)")
                let run = try await cli(["run", "--kubernetes", scratch.path + "/clibox"])
                #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
                #expect(run.stdout.contains("clibox running (deployment/clibox@micro 3/3 ready)"), "\(run.stdout)")
                let ps = try await cli(["ps"])
                let row = ps.stdout.split(separator: "\n").first { $0.hasPrefix("clibox ") }.map(String.init) ?? ""
                #expect(row.contains(" 2.0.0 ") && row.contains(" kubernetes ") && row.contains("deployment/clibox@micro 3/3 ready")
                        && row.contains(" running "), "\(ps.stdout)")
                let deployment = try #require(fixture.state.withLock { $0.objects["deployments/micro/clibox"]?.object })
                let image = KubernetesFixture.image(of: deployment)
                #expect(image.hasPrefix(registry.address + "/cli/clibox:2.0.0-g1@sha256:"), "\(image)")

                fixture.appendLog("a line from the cluster", to: "clibox")
                let logs = try await cli(["logs", "clibox", "-n", "5"])
                #expect(logs.status == 0 && logs.stdout.split(separator: "\n").filter { $0.hasSuffix("] a line from the cluster") }.count == 3,
                        "\(logs.stdout) \(logs.stderr)")
                let kill = try await cli(["kill", "clibox"])
                #expect(kill.status == 0, "\(kill.stderr)")
                #expect(fixture.state.withLock { $0.objects.isEmpty })
                #expect(try await cli(["ps"]).stdout.split(separator: "\n").count == 1)
                runtime.terminate()
                #expect(runtime.exitCode == 0)
            }
        }
    }

    /// Runs `source` on `runtime` until it fails (or runs); its error; then (with `delete`) kills it.
    static func failure(_ runtime: ProcessRuntime, _ source: RuntimeSource, name: String = "box", delete: Bool = true) async throws -> String {
        try await runtime.create(source)
        let record = try await settled(name, timeout: .seconds(120)) { try await runtime.list(name).first }
        if delete { try await runtime.delete(name) }
        return record.state.error ?? "running"
    }

    @Test func settingsComeFromTheEnvironment() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(try KubernetesConfiguration.fromEnvironment([:], serviceAccount: scratch.path) == nil)
        let explicit = try #require(try KubernetesConfiguration.fromEnvironment([
            "MICRO_RUNTIME_KUBERNETES_ADDRESS": "http://127.0.0.1:6443/", "MICRO_RUNTIME_KUBERNETES_TOKEN": "t0k",
            "MICRO_RUNTIME_KUBERNETES_NAMESPACE": "micro",
        ], serviceAccount: scratch.path))
        #expect(explicit.server == "http://127.0.0.1:6443" && explicit.namespace == "micro" && explicit.caFile == nil)
        #expect(try explicit.currentToken() == "t0k")
        // In a pod: the service's host and port, and the service account's token (read on every call), CA and namespace.
        try scratch.write(["token": "first\n", "ca.crt": "-----BEGIN CERTIFICATE-----\n", "namespace": "apps\n"], in: "sa")
        let inCluster = try #require(try KubernetesConfiguration.fromEnvironment(
            ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"], serviceAccount: scratch.path + "/sa"))
        #expect(inCluster.server == "https://10.0.0.1:443" && inCluster.namespace == "apps")
        #expect(inCluster.caFile == scratch.path + "/sa/ca.crt" && inCluster.tokenFile == scratch.path + "/sa/token")
        #expect(try inCluster.currentToken() == "first")
        try scratch.write(["token": "rotated"], in: "sa")
        #expect(try inCluster.currentToken() == "rotated")
        try scratch.write(["token": "\n"], in: "sa")
        #expect(throws: KubernetesError.self) { try inCluster.currentToken() }
        #expect(throws: KubernetesError.self) { try KubernetesConfiguration.fromEnvironment(["MICRO_RUNTIME_KUBERNETES_ADDRESS": "ftp://x"]) }
        #expect(throws: KubernetesError.self) {
            try KubernetesConfiguration.fromEnvironment(["MICRO_RUNTIME_KUBERNETES_ADDRESS": "http://x:1", "MICRO_RUNTIME_KUBERNETES_NAMESPACE": "Not_A_Label"])
        }

        #expect(try ImageRegistry(environment: [:]) == nil)
        let registry = try #require(try ImageRegistry(environment: ["MICRO_RUNTIME_IMAGE_REGISTRY": "127.0.0.1:5000/micro/",
                                                                    "MICRO_RUNTIME_IMAGE_REGISTRY_TLS_VERIFY": "false"]))
        #expect(registry.address == "127.0.0.1:5000/micro" && !registry.tlsVerify)
        #expect(registry.repository(for: "go.micro.Store") == "127.0.0.1:5000/micro/go-micro-store")
        #expect(ImageRegistry.tag(version: "1.0.0", commit: "0123456789abcdef", generation: 3) == "1.0.0-0123456789ab")
        #expect(ImageRegistry.tag(version: "0123456789ab", commit: "0123456789abcdef", generation: 3) == "0123456789ab")
        #expect(ImageRegistry.tag(version: "latest", commit: nil, generation: 3) == "latest-g3")
        #expect(ImageRegistry.tag(version: "-1+build", commit: nil, generation: 1) == "v-1-build-g1")
        for bad in ["https://registry.example.com", "host//x", "host/a:b", String(repeating: "a", count: 300), "sp ace"] {
            #expect(throws: RuntimeError.self) { try ImageRegistry(address: bad) }
        }
        #expect(throws: RuntimeError.self) { try ImageRegistry(environment: ["MICRO_RUNTIME_IMAGE_REGISTRY": "r:5000", "MICRO_RUNTIME_IMAGE_REGISTRY_TLS_VERIFY": "maybe"]) }
        #expect(try RuntimeManifest(yaml: Data("runtime: kubernetes\nport: 9090\nreplicas: 3\n".utf8)) ==
                RuntimeManifest(runtime: .kubernetes, port: 9090, replicas: 3))
        #expect(throws: RuntimeError.self) { try RuntimeManifest(yaml: Data("port: 70000\n".utf8)) }
        #expect(throws: RuntimeError.self) { try RuntimeManifest(yaml: Data("replicas: -1\n".utf8)) }
    }

    /// An API server over HTTPS with a certificate of a CA of its own (``TestCertificates``): reached
    /// with `MICRO_RUNTIME_KUBERNETES_CA_FILE` (the client `KubernetesRuntime.with` makes trusts it),
    /// refused without it (the system's roots do not hold that CA).
    @Test func anAPIServerOverTLSIsTrustedThroughItsCAFile() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let serviceAccount = certificates.directory.path   // holds no token: the environment gives one
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.serverCert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.serverKey, format: .pem)))
        try await KubernetesFixture.with(tls: tls) { fixture, url in
            #expect(url.hasPrefix("https://127.0.0.1:"))
            let environment = ["MICRO_RUNTIME_KUBERNETES_ADDRESS": url, "MICRO_RUNTIME_KUBERNETES_TOKEN": "fixture-token",
                               "MICRO_RUNTIME_KUBERNETES_NAMESPACE": "micro"]
            let trusting = try #require(try KubernetesConfiguration.fromEnvironment(
                environment.merging(["MICRO_RUNTIME_KUBERNETES_CA_FILE": certificates.ca]) { $1 }, serviceAccount: serviceAccount))
            try await KubernetesRuntime.with(trusting) { runtime in
                try await runtime.apply(ClusterWorkload(name: "tls-box", image: "127.0.0.1:1/tls-box:1"))
                #expect(try await runtime.statuses().map(\.name) == ["tls-box"])
            }
            #expect(fixture.state.withLock { $0.objects["deployments/micro/tls-box"] != nil })
            var untrusting = try #require(try KubernetesConfiguration.fromEnvironment(environment, serviceAccount: serviceAccount))
            #expect(untrusting.caFile == nil)
            untrusting.requestTimeout = .seconds(1)   // the client tries the handshake again until the call's deadline
            try await KubernetesRuntime.with(untrusting) { runtime in
                await #expect { try await runtime.statuses() } throws: { ($0 as? KubernetesError)?.code == .unavailable }
            }
        }
    }

    @Test func logLinesAreSplitAndBounded() {
        var splitter = LogLineSplitter(maxLineBytes: 8)
        #expect(splitter.append(Array("one\r\ntw".utf8)) == ["one"])
        #expect(splitter.append(Array("o\n\nthree".utf8)) == ["two", ""])
        #expect(splitter.finish() == "three")
        #expect(splitter.append(Array("0123456789abc\nnext\n".utf8)) == ["01234567…", "next"])
        #expect(splitter.append([0xff, 0xfe, 0x0a]) == ["\u{FFFD}\u{FFFD}"])
        #expect(splitter.append(Array(repeating: UInt8(ascii: "z"), count: 100)).count == 1, "one cut line, the rest dropped until a newline")
        #expect(splitter.finish() == nil)
    }
}

/// The health check of runtimes whose services all run in the cluster (a cluster service is healthy
/// when rolled out; this is never asked).
struct UnusedHealthCheck: ServiceHealthCheck {
    func healthyNodes(of service: String) async -> Set<String> { [] }
}

/// Lines a test collects from a stream.
final class LinesSeen: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// Runs `body` with the embedded store of services under `home`, shut down afterwards.
func withStore<T: Sendable>(home: String, _ body: (any Store) async throws -> T) async throws -> T {
    let store = try Engines.embedded.makeStore(EngineContext(environment: MicroEnvironment(["MICRO_HOME": home])))
    do {
        let result = try await body(store)
        await store.shutdown()
        return result
    } catch {
        await store.shutdown()
        throw error
    }
}
