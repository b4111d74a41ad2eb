import ConsulClient
import Logging
import MicroCore

/// The blocking-query loops behind ``ConsulRegistry/watch(service:)``: one on a service's health
/// (`?index=N&wait=...`), and for a watch of everything one on the catalog that starts and stops a
/// health loop per service. Each answer with a new `X-Consul-Index` is diffed against the watch's
/// picture; errors are retried with a doubling pause; cancellation ends the loops.
struct ConsulWatcher: Sendable {
    let agent: ConsulAgentClient
    let configuration: ConsulRegistryConfiguration
    let decoder: ConsulRecordDecoder
    let logger: Logger
    let continuation: RegistryWatch.Continuation

    /// Follows one service from `index` on, its picture `view` (seeded by the caller); returns the
    /// picture when cancelled.
    func follow(service: String, view: ConsulServiceView, index: UInt64) async -> ConsulServiceView {
        var view = view
        var index = index
        var pause = configuration.watchRetryInitial
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                let answer = try await agent.health(service: service, index: index)
                pause = configuration.watchRetryInitial
                if answer.index != index {
                    for e in view.apply(decoder.records(service, from: answer.value)) { continuation.yield(e) }
                }
                index = Self.next(index: index, answer: answer.index)
            } catch {
                if Task.isCancelled || error.code == .cancelled || error.code == .shutdown { break }
                logger.warning("Consul watch query failed, retrying", metadata: ["service": "\(service)", "error": "\(error)", "pause": "\(pause)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, configuration.watchRetryMax)
                continue
            }
            await rateLimit(since: started)
        }
        return view
    }

    /// Follows the catalog from `index`, with `seeded` pictures of the services known when the watch
    /// opened; a service that appears gets a health loop of its own, one that disappears has its
    /// remaining nodes reported deleted.
    func followAll(seeded: [String: (view: ConsulServiceView, index: UInt64)], index: UInt64) async {
        var children: [String: Task<ConsulServiceView, Never>] = [:]
        for (name, seed) in seeded {
            children[name] = Task { await follow(service: name, view: seed.view, index: seed.index) }
        }
        var index = index
        var pause = configuration.watchRetryInitial
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                let answer = try await agent.catalogServices(index: index)
                pause = configuration.watchRetryInitial
                if answer.index != index {
                    for name in answer.value.keys where children[name] == nil {
                        // Index 0: the first answer arrives at once and reports what is there as created.
                        children[name] = Task { await follow(service: name, view: ConsulServiceView(name: name), index: 0) }
                    }
                    for (name, child) in children where answer.value[name] == nil {
                        children[name] = nil
                        child.cancel()
                        var view = await child.value
                        for e in view.apply([]) { continuation.yield(e) }
                    }
                }
                index = Self.next(index: index, answer: answer.index)
            } catch {
                if Task.isCancelled || error.code == .cancelled || error.code == .shutdown { break }
                logger.warning("Consul catalog watch query failed, retrying", metadata: ["error": "\(error)", "pause": "\(pause)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, configuration.watchRetryMax)
                continue
            }
            await rateLimit(since: started)
        }
        for child in children.values { child.cancel() }
        for child in children.values { _ = await child.value }
    }

    /// The index for the next query (Consul's blocking-query rules): an index that went backwards
    /// starts over from 0 (an immediate answer), and the index is never 0 after an answer.
    static func next(index: UInt64, answer: UInt64) -> UInt64 {
        if answer < index { return 0 }
        return max(answer, 1)
    }

    private func rateLimit(since started: ContinuousClock.Instant) async {
        let elapsed = ContinuousClock.now - started
        if elapsed < configuration.watchMinInterval {
            try? await Task.sleep(for: configuration.watchMinInterval - elapsed)
        }
    }
}
