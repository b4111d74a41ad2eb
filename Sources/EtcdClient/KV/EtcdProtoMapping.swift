import Foundation

// Conversions between etcd's protobuf messages (internal, generated) and the client's public values.
// Absent fields read as protobuf defaults, so no response shape can crash a conversion.

extension EtcdKeyValue {
    init(proto kv: Mvccpb_KeyValue) {
        self.init(key: [UInt8](kv.key), value: [UInt8](kv.value), createRevision: kv.createRevision,
                  modRevision: kv.modRevision, version: kv.version, lease: kv.lease)
    }
}

extension EtcdEvent {
    init(proto event: Mvccpb_Event) {
        let kind: Kind = event.type == .delete ? .delete : .put
        self.init(kind: kind, kv: EtcdKeyValue(proto: event.kv), previous: event.hasPrevKv ? EtcdKeyValue(proto: event.prevKv) : nil)
    }
}

extension EtcdRangeResult {
    init(proto r: Etcdserverpb_RangeResponse) {
        self.init(revision: r.header.revision, kvs: r.kvs.map(EtcdKeyValue.init(proto:)), more: r.more, count: r.count)
    }
}

extension EtcdPutResult {
    init(proto r: Etcdserverpb_PutResponse) {
        self.init(revision: r.header.revision, previous: r.hasPrevKv ? EtcdKeyValue(proto: r.prevKv) : nil)
    }
}

extension EtcdDeleteResult {
    init(proto r: Etcdserverpb_DeleteRangeResponse) {
        self.init(revision: r.header.revision, deleted: r.deleted, previous: r.prevKvs.map(EtcdKeyValue.init(proto:)))
    }
}

extension EtcdKeyRange {
    var rangeRequest: Etcdserverpb_RangeRequest {
        var r = Etcdserverpb_RangeRequest()
        r.key = Data(key)
        r.rangeEnd = Data(rangeEnd)
        return r
    }

    var deleteRequest: Etcdserverpb_DeleteRangeRequest {
        var r = Etcdserverpb_DeleteRangeRequest()
        r.key = Data(key)
        r.rangeEnd = Data(rangeEnd)
        return r
    }
}

extension EtcdOperation {
    var proto: Etcdserverpb_RequestOp {
        var op = Etcdserverpb_RequestOp()
        switch self {
        case .range(let range): op.request = .requestRange(range.rangeRequest)
        case .put(let key, let value, let lease):
            var put = Etcdserverpb_PutRequest()
            put.key = Data(key)
            put.value = Data(value)
            put.lease = lease
            op.request = .requestPut(put)
        case .delete(let range): op.request = .requestDeleteRange(range.deleteRequest)
        }
        return op
    }
}

extension EtcdCompare {
    var proto: Etcdserverpb_Compare {
        var c = Etcdserverpb_Compare()
        c.key = Data(key)
        c.rangeEnd = Data(rangeEnd)
        switch relation {
        case .equal: c.result = .equal
        case .notEqual: c.result = .notEqual
        case .greater: c.result = .greater
        case .less: c.result = .less
        }
        switch target {
        case .version(let v):
            c.target = .version
            c.targetUnion = .version(v)
        case .createRevision(let v):
            c.target = .create
            c.targetUnion = .createRevision(v)
        case .modRevision(let v):
            c.target = .mod
            c.targetUnion = .modRevision(v)
        case .value(let v):
            c.target = .value
            c.targetUnion = .value(Data(v))
        case .lease(let v):
            c.target = .lease
            c.targetUnion = .lease(v)
        }
        return c
    }
}

extension EtcdTxn {
    var proto: Etcdserverpb_TxnRequest {
        var t = Etcdserverpb_TxnRequest()
        t.compare = compare.map(\.proto)
        t.success = success.map(\.proto)
        t.failure = failure.map(\.proto)
        return t
    }
}

extension EtcdTxnResult {
    init(proto r: Etcdserverpb_TxnResponse) {
        let results: [EtcdOperationResult] = r.responses.compactMap { op in
            switch op.response {
            case .responseRange(let x): return .range(EtcdRangeResult(proto: x))
            case .responsePut(let x): return .put(EtcdPutResult(proto: x))
            case .responseDeleteRange(let x): return .delete(EtcdDeleteResult(proto: x))
            case .responseTxn, .none: return nil
            }
        }
        self.init(revision: r.header.revision, succeeded: r.succeeded, results: results)
    }
}
