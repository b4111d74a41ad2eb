import GRPCCore
import Logging
import Synchronization

/// The one `Watch` stream of an ``EtcdConnection``, carrying all its watches.
///
/// Opened with the first watch, it stays open until the client shuts down. When it breaks it opens
/// again on the next member and creates every watch anew from the revision after the last one it
/// delivered, so consumers see each event once and in order (a revision etcd split into fragments may
/// repeat its delivered part after a break).
final class EtcdWatcher: Sendable {
    private struct Inner {
        var machine = EtcdWatchState()
        var consumers: [Int: EtcdWatch.Continuation] = [:]
        var outbox: AsyncStream<Etcdserverpb_WatchRequest>.Continuation?
        var task: Task<Void, Never>?
        var opened = 0
        var active = false
        var closed = false
    }

    private let members: EtcdMembers
    private let configuration: EtcdConfiguration
    private let logger: Logger
    private let inner = Mutex(Inner())

    init(members: EtcdMembers, configuration: EtcdConfiguration, logger: Logger) {
        self.members = members
        self.configuration = configuration
        self.logger = logger
    }

    /// Streams opened so far, and whether one is open now.
    var streams: (opened: Int, active: Bool) { inner.withLock { ($0.opened, $0.active) } }
    /// Watches open.
    var count: Int { inner.withLock { $0.consumers.count } }

    func watch(_ range: EtcdKeyRange, fromRevision: Int64, prevKV: Bool) -> EtcdWatch {
        let (stream, continuation) = EtcdWatch.makeStream(bufferingPolicy: .bufferingOldest(max(1, configuration.watchBufferLimit)))
        let result = inner.withLock { s -> Result<Int, EtcdError> in
            guard !s.closed else { return .failure(EtcdError(.shutdown, "the etcd client is shut down")) }
            guard s.consumers.count < configuration.maxWatches else {
                return .failure(EtcdError(.resourceExhausted, "more than \(configuration.maxWatches) watches open"))
            }
            let local = s.machine.add(range, fromRevision: fromRevision, prevKV: prevKV)
            s.consumers[local] = continuation
            if let outbox = s.outbox, let request = s.machine.create(local) { outbox.yield(request) }
            if s.task == nil { s.task = Task { [self] in await supervise() } }
            return .success(local)
        }
        switch result {
        case .failure(let error):
            continuation.finish(throwing: error)
        case .success(let local):
            continuation.onTermination = { [weak self] _ in self?.remove(local) }
        }
        return stream
    }

    private func remove(_ local: Int) {
        inner.withLock { s in
            s.consumers[local] = nil
            if let request = s.machine.remove(local) { s.outbox?.yield(request) }
        }
    }

    /// Ends every watch with a shutdown error and closes the stream.
    func shutdown() async {
        let (task, consumers) = inner.withLock { s -> (Task<Void, Never>?, [EtcdWatch.Continuation]) in
            s.closed = true
            let c = Array(s.consumers.values)
            s.consumers = [:]
            s.outbox?.finish()
            return (s.task, c)
        }
        for c in consumers { c.finish(throwing: EtcdError(.shutdown, "the etcd client is shut down")) }
        task?.cancel()
        await task?.value
    }

    private func supervise() async {
        var failures = 0
        while !Task.isCancelled {
            let member: (index: Int, endpoint: EtcdEndpoint, client: EtcdMembers.Client)
            do { member = try members.current() } catch { break }
            let started = ContinuousClock.now
            let error = await runStream(on: member)
            if inner.withLock({ $0.closed }) || Task.isCancelled { break }
            logger.debug("etcd watch stream ended", metadata: ["endpoint": "\(member.endpoint)", "error": "\(error)"])
            if error.code != .cancelled { members.failed(member.index, error: error) }
            failures = ContinuousClock.now - started > .seconds(10) ? 1 : failures + 1
            try? await Task.sleep(for: EtcdConnection.backoff(attempt: failures, configuration: configuration))
        }
    }

    private func runStream(on member: (index: Int, endpoint: EtcdEndpoint, client: EtcdMembers.Client)) async -> EtcdError {
        let (outbox, outboxContinuation) = AsyncStream<Etcdserverpb_WatchRequest>.makeStream(bufferingPolicy: .unbounded)
        let proceed = inner.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.outbox = outboxContinuation
            s.opened += 1
            s.active = true
            for request in s.machine.streamOpened() { outboxContinuation.yield(request) }
            return true
        }
        guard proceed else { return EtcdError(.shutdown, "the etcd client is shut down") }
        defer {
            inner.withLock { s in
                s.outbox = nil
                s.active = false
            }
            outboxContinuation.finish()
        }
        let watch = Etcdserverpb_Watch.Client(wrapping: member.client)
        let options = EtcdConnection.streamOptions(configuration)
        let endpoint = member.endpoint.description
        let index = member.index
        do {
            try await watch.watch(metadata: EtcdConnection.requireLeader, options: options, requestProducer: { writer in
                for await request in outbox { try await writer.write(request) }
            }, onResponse: { response in
                for try await message in response.messages {
                    self.members.succeeded(index)
                    self.handle(message)
                }
            })
            return EtcdError(.unavailable, "the watch stream ended", endpoint: endpoint)
        } catch {
            return EtcdError.from(error, endpoint: endpoint)
        }
    }

    private func handle(_ message: Etcdserverpb_WatchResponse) {
        let (outcome, consumer) = inner.withLock { s -> (EtcdWatchState.Outcome, EtcdWatch.Continuation?) in
            let outcome = s.machine.handle(message)
            switch outcome {
            case .events(let local, _): return (outcome, s.consumers[local])
            case .ended(let local, _, _): return (outcome, s.consumers.removeValue(forKey: local))
            case .cancelOrphan(let request):
                s.outbox?.yield(request)
                return (outcome, nil)
            case .created, .nothing: return (outcome, nil)
            }
        }
        switch outcome {
        case .events(let local, let batch):
            guard let consumer else { return }
            if case .dropped = consumer.yield(batch) {
                logger.warning("etcd watch consumer too slow, ending the watch", metadata: ["limit": "\(configuration.watchBufferLimit)"])
                remove(local)
                consumer.finish(throwing: EtcdError(.slowConsumer, "the watch's consumer fell \(configuration.watchBufferLimit) batches behind"))
            }
        case .ended(_, let compactRevision, let reason):
            if compactRevision > 0 {
                consumer?.finish(throwing: EtcdError(.compacted, "history before revision \(compactRevision) is compacted", compactRevision: compactRevision))
            } else {
                consumer?.finish(throwing: EtcdError(.watchCanceled, reason.isEmpty ? "etcd cancelled the watch" : reason))
            }
        case .created, .cancelOrphan, .nothing:
            break
        }
    }
}
