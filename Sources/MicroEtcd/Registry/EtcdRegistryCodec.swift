import EtcdClient
import Foundation
import Logging
import MicroCore
import Synchronization

/// Reads and writes registry values: go-micro's Service JSON holding one node. A value that is too
/// large, not JSON of that shape, without a name or without nodes, or under a key not of go-micro's
/// layout is skipped and logged (once per key and revision, so repeated reads don't flood the log).
final class EtcdRegistryCodec: Sendable {
    private let maxValueBytes: Int
    private let logger: Logger
    private let reported = Mutex<Set<String>>([])

    init(maxValueBytes: Int, logger: Logger) {
        self.maxValueBytes = maxValueBytes
        self.logger = logger
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    /// The value for `service` (which holds the one node to register).
    func encode(_ service: ServiceRecord) throws -> [UInt8] {
        do { return [UInt8](try Self.encoder.encode(service)) } catch {
            throw EtcdError(.invalidArgument, "cannot encode the service record of \(service.name): \(error)")
        }
    }

    /// The record in `kv`, or nil (logged) when it is not a registry value.
    func decode(_ kv: EtcdKeyValue) -> ServiceRecord? {
        guard EtcdRegistryKey(parsing: kv.keyString) != nil else {
            skip(kv, "the key is not /micro/registry/<service>/<node>")
            return nil
        }
        guard kv.value.count <= maxValueBytes else {
            skip(kv, "the value has \(kv.value.count) bytes, more than the limit of \(maxValueBytes)")
            return nil
        }
        let record: ServiceRecord
        do { record = try JSONDecoder().decode(ServiceRecord.self, from: Data(kv.value)) } catch {
            skip(kv, "the value is not a service record: \(Self.describe(error))")
            return nil
        }
        guard !record.name.isEmpty else {
            skip(kv, "the service record has no name")
            return nil
        }
        guard !record.nodes.isEmpty else {
            skip(kv, "the service record has no node")
            return nil
        }
        return record
    }

    private func skip(_ kv: EtcdKeyValue, _ why: String) {
        let id = "\(kv.keyString)@\(kv.modRevision)"
        let first = reported.withLock { seen -> Bool in
            if seen.count >= 4096 { seen.removeAll() }
            return seen.insert(id).inserted
        }
        let metadata: Logger.Metadata = ["key": "\(kv.keyString.prefix(256))", "revision": "\(kv.modRevision)", "reason": "\(why)"]
        if first {
            logger.warning("skipping a malformed etcd registry entry", metadata: metadata)
        } else {
            logger.debug("skipping a malformed etcd registry entry", metadata: metadata)
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return "data corrupted: \(c.debugDescription)"
        case DecodingError.keyNotFound(let k, _): return "missing \(k.stringValue)"
        case DecodingError.typeMismatch(_, let c): return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.valueNotFound(_, let c): return "null at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}
