/// The bookkeeping of the one `Watch` stream of an ``EtcdConnection``, shared by all its watches.
///
/// A value type without I/O, tested on its own; ``EtcdWatcher`` drives it. Each watch has a local id;
/// etcd assigns its own id per stream, answering create requests in order, so the pending creates form
/// a queue (which also tells whose create failed: etcd answers a failed create with id -1). Each watch
/// remembers the revision to resume from, so a new stream on another member continues where the old
/// one stopped.
struct EtcdWatchState: Sendable {
    struct Watch: Sendable {
        var range: EtcdKeyRange
        var prevKV: Bool
        /// The first revision not yet delivered (0: from whenever the watch gets created).
        var nextRevision: Int64
        /// etcd's id for it on the current stream, once created.
        var serverID: Int64?
    }

    /// What a response means for the watches.
    enum Outcome: Sendable, Equatable {
        /// Events for a watch, to deliver.
        case events(local: Int, EtcdWatchResponse)
        /// A watch is created; nothing to deliver.
        case created(local: Int)
        /// etcd ended a watch: history it needed was compacted (`compactRevision` > 0) or for `reason`.
        case ended(local: Int, compactRevision: Int64, reason: String)
        /// A watch removed while its create was on its way was created: cancel it (the request).
        case cancelOrphan(Etcdserverpb_WatchRequest)
        /// Progress or a response for a watch no longer wanted.
        case nothing
    }

    private(set) var watches: [Int: Watch] = [:]
    private var pendingCreates: [Int] = []
    private var byServerID: [Int64: Int] = [:]
    private var nextLocal = 0

    /// Adds a watch; returns its local id and the create request to send if a stream is open.
    mutating func add(_ range: EtcdKeyRange, fromRevision: Int64, prevKV: Bool) -> Int {
        nextLocal += 1
        watches[nextLocal] = Watch(range: range, prevKV: prevKV, nextRevision: max(0, fromRevision), serverID: nil)
        return nextLocal
    }

    /// The create request for `local` (it joins the queue of creates awaiting an answer).
    mutating func create(_ local: Int) -> Etcdserverpb_WatchRequest? {
        guard let w = watches[local] else { return nil }
        pendingCreates.append(local)
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = .init(w.range.key)
        create.rangeEnd = .init(w.range.rangeEnd)
        create.startRevision = w.nextRevision
        create.prevKv = w.prevKV
        create.progressNotify = true
        create.fragment = true
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .createRequest(create)
        return request
    }

    /// Removes a watch; returns the cancel request to send if etcd knows it on the current stream.
    mutating func remove(_ local: Int) -> Etcdserverpb_WatchRequest? {
        guard let w = watches.removeValue(forKey: local) else { return nil }
        guard let server = w.serverID else { return nil }
        byServerID[server] = nil
        var cancel = Etcdserverpb_WatchCancelRequest()
        cancel.watchID = server
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .cancelRequest(cancel)
        return request
    }

    /// A new stream opens: etcd knows none of the watches; returns the creates to send, in order.
    mutating func streamOpened() -> [Etcdserverpb_WatchRequest] {
        pendingCreates = []
        byServerID = [:]
        for id in watches.keys { watches[id]?.serverID = nil }
        return watches.keys.sorted().compactMap { create($0) }
    }

    /// Applies one response from etcd.
    mutating func handle(_ response: Etcdserverpb_WatchResponse) -> Outcome {
        let revision = response.hasHeader ? response.header.revision : 0
        if response.created {
            // Answers to creates come in the order the creates were sent.
            guard !pendingCreates.isEmpty else { return .nothing }
            let local = pendingCreates.removeFirst()
            guard var w = watches[local] else {
                // Removed while its create was on its way: now etcd can be told to cancel it.
                guard !response.canceled, response.watchID >= 0 else { return .nothing }
                var cancel = Etcdserverpb_WatchCancelRequest()
                cancel.watchID = response.watchID
                var request = Etcdserverpb_WatchRequest()
                request.requestUnion = .cancelRequest(cancel)
                return .cancelOrphan(request)
            }
            if response.canceled || response.watchID < 0 {
                watches[local] = nil
                return .ended(local: local, compactRevision: response.compactRevision, reason: response.cancelReason)
            }
            w.serverID = response.watchID
            if w.nextRevision == 0 { w.nextRevision = revision + 1 }
            watches[local] = w
            byServerID[response.watchID] = local
            return .created(local: local)
        }
        guard let local = byServerID[response.watchID], var w = watches[local] else { return .nothing }
        if response.canceled {
            byServerID[response.watchID] = nil
            watches[local] = nil
            return .ended(local: local, compactRevision: response.compactRevision, reason: response.cancelReason)
        }
        if response.events.isEmpty {
            // A progress notification: every event up to `revision` was delivered.
            if revision >= w.nextRevision { w.nextRevision = revision + 1 }
            watches[local] = w
            return .nothing
        }
        let events = response.events.map(EtcdEvent.init(proto:))
        if let last = events.last?.kv.modRevision {
            // A fragment leaves its revision incomplete: resume from it, not after it.
            let next = response.fragment ? last : last + 1
            if next > w.nextRevision { w.nextRevision = next }
        }
        watches[local] = w
        return .events(local: local, EtcdWatchResponse(events: events, revision: revision))
    }

    /// The server id of a watch that is created on the current stream.
    func serverID(_ local: Int) -> Int64? { watches[local]?.serverID }

    /// Whether any watch exists.
    var isEmpty: Bool { watches.isEmpty }
}
