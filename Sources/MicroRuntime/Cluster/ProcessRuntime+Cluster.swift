import Foundation

/// The Kubernetes runtime's part of ``ProcessRuntime``: a service built and packaged as for a
/// container, its image pushed to the ``ImageRegistry``, rolled out by the ``ClusterRuntime`` and
/// waited for; updated by a new image and a new rollout (rolled back when it does not finish);
/// adopted after a runtime restart from its record (the cluster runs it meanwhile).
extension ProcessRuntime {
    /// The cluster, or ``RuntimeError/Code/notConfigured`` when the runtime has none.
    nonisolated func requireCluster(for name: String) throws -> any ClusterRuntime {
        guard let cluster else {
            throw RuntimeError(.notConfigured, "\(name) runs on Kubernetes and this runtime has no API server: set MICRO_RUNTIME_KUBERNETES_ADDRESS (or run it in a cluster)")
        }
        return cluster
    }

    /// The cluster and the image registry, or ``RuntimeError/Code/notConfigured`` naming what is missing.
    @discardableResult
    nonisolated func checkClusterConfigured(for name: String) throws -> (any ClusterRuntime, ImageRegistry) {
        let cluster = try requireCluster(for: name)
        guard let registry = options.imageRegistry else {
            throw RuntimeError(.notConfigured, "\(name) runs on Kubernetes and this runtime has no image registry to push to: set \(ImageRegistry.addressVariable)")
        }
        return (cluster, registry)
    }

    /// Pushes the local `image` of `name`'s generation, tagged with its version and commit; removes the
    /// local copy; the pushed reference (by digest).
    func push(_ image: String, name: String, generation: Int, prepared: PreparedService) async throws -> String {
        let (_, registry) = try checkClusterConfigured(for: name)
        let tag = ImageRegistry.tag(version: prepared.version, commit: prepared.commit, generation: generation)
        let log = logFile(name)
        log.note("push: \(image) to \(registry.repository(for: name)):\(tag)")
        let reference = try await registry.push(image, service: name, tag: tag, containers: containers,
                                                workDirectory: options.root + "/images/\(name)-\(generation)", log: log.path)
        log.note("push: \(reference)")
        await containers.removeImage(image)   // the cluster pulls the pushed one
        return reference
    }

    /// What the cluster runs for `record`: its pushed image, arguments, the environment of its pods,
    /// and the manifest's replicas and port.
    nonisolated func clusterWorkload(_ record: RuntimeServiceStatus, manifest: RuntimeManifest) throws -> ClusterWorkload {
        guard let image = record.image else { throw RuntimeError(.startFailed, "\(record.name) has no pushed image; `micro update \(record.name)` builds it again") }
        return ClusterWorkload(name: record.name, version: record.version, image: image, arguments: record.arguments,
                               environment: options.clusterEnvironment(record.environment), replicas: manifest.replicas ?? 1,
                               port: manifest.port ?? 8080)
    }

    /// Creates or patches `name`'s objects for its generation and waits (at most
    /// ``RuntimeOptions/healthTimeout``) until the cluster has rolled them out; then it is running.
    func rollOut(_ name: String, generation: Int, manifest: RuntimeManifest) async throws {
        let cluster = try requireCluster(for: name)
        guard var record = services[name], record.generation == generation else { return }
        let workload = try clusterWorkload(record, manifest: manifest)
        record.state.preparing(.deploying)
        services[name] = record
        await save(name)
        logFile(name).note("deploy: \(workload.image) on \(cluster.description) (\(workload.replicas) replicas, port \(workload.port))")
        try await cluster.apply(workload)
        try await finishRollOut(name, generation: generation, cluster: cluster)
    }

    /// Waits until `name`'s rollout is done and records it running.
    private func finishRollOut(_ name: String, generation: Int, cluster: any ClusterRuntime) async throws {
        let status = try await cluster.waitRolledOut(name, timeout: options.healthTimeout)
        guard var deployed = services[name], deployed.generation == generation else { return }
        deployed.cluster = status
        deployed.state.rolledOut()
        services[name] = deployed
        await save(name)
        logFile(name).note("deploy: \(status.object) rolled out, \(status.readyReplicas)/\(status.replicas) ready")
    }

    /// `micro update` of a cluster service: pulls and rebuilds, pushes a new image, patches the objects
    /// and waits for the cluster's rollout (its old pods serve meanwhile); when the rollout does not
    /// finish in time, the objects are rolled back to the previous image and the error is thrown.
    func updateInCluster(_ current: RuntimeServiceStatus) async throws {
        let name = current.name
        let cluster = try requireCluster(for: name)
        try checkClusterConfigured(for: name)
        let source = try RuntimeSource(parsing: current.source)
        let checkout = try await fetcher.fetch(source)
        var manifest = RuntimeManifest()
        if case .binary = source.kind {} else { manifest = try RuntimeManifest.load(from: checkout.path) }
        let generation = current.generation + 1
        let prepared = try await prepare(name: name, source: source, checkout: checkout, manifest: manifest, kind: .kubernetes,
                                         generation: generation)
        guard var record = services[name] else { throw RuntimeError(.notFound, "\(name) was removed during its update") }
        record.generation = generation
        record.apply(prepared)
        services[name] = record
        await save(name)
        logFile(name).note("update: generation \(generation) (\(prepared.commit ?? source.description))")
        do {
            try await rollOut(name, generation: generation, manifest: manifest)
        } catch {
            if await restore(name, generation: generation, to: current) {
                logFile(name).note("update: generation \(generation) not rolled out (\(error)); back to \(current.image ?? "its previous image")")
                if let previous = try? clusterWorkload(current, manifest: manifest) { try? await cluster.apply(previous) }
            }
            throw error
        }
    }

    /// Reads how the cluster runs the running cluster services (or the one named), in one call; keeps
    /// what was last read when the cluster cannot be asked.
    func refreshClusterStatus(_ name: String?) async {
        guard let cluster else { return }
        let names = services.values.filter { $0.kind == .kubernetes && $0.state.status == .running && (name == nil || $0.name == name) }.map(\.name)
        guard !names.isEmpty, let statuses = try? await cluster.statuses() else { return }
        for name in names {
            guard var record = services[name], record.state.status == .running else { continue }
            if let status = statuses.first(where: { $0.name == name }) {
                record.cluster = status
            } else {   // its objects were deleted behind the runtime's back
                record.cluster?.readyReplicas = 0
                record.cluster?.ready = false
            }
            services[name] = record
        }
    }

    /// A cluster service's record after a runtime restart: running ones are the cluster's meanwhile
    /// (adopted as they are); a rollout that was under way is waited for again; builds and pushes that
    /// were interrupted are failed.
    func adoptFromCluster(_ record: RuntimeServiceStatus) throws {
        var record = record
        let name = record.name
        let generation = record.generation
        switch record.state.status {
        case .running, .backoff:
            logFile(name).note("adopted after a runtime restart: \(record.cluster?.object ?? "its objects") in the cluster")
        case .deploying:
            logFile(name).note("adopted after a runtime restart: waiting for its rollout again")
            try enqueue { [self] in
                do {
                    try await finishRollOut(name, generation: generation, cluster: try requireCluster(for: name))
                } catch {
                    await fail(name, generation: generation, error)
                }
            }
        case .fetching, .building, .waiting, .pushing:
            record.state.fail(RuntimeError(.startFailed, "interrupted by a runtime restart; `micro update \(name)` builds it again"))
        case .stopping:
            record.state.stopped()
        case .stopped, .failed:
            break
        }
        services[name] = record
    }
}
