import ConsulClient
import Logging
import MicroCore

/// Turns health entries into registry records the way go-micro's plugin does: one record per
/// version, its endpoints (and service metadata) from the first entry of that version, nodes with a
/// critical check left out. Entries whose tags do not decode are skipped and logged.
struct ConsulRecordDecoder: Sendable {
    let maxTagBytes: Int
    let logger: Logger

    /// The records of `name` in `entries`, sorted by version; nodes keep the answer's order.
    func records(_ name: String, from entries: [ConsulHealthEntry]) -> [ServiceRecord] {
        var byVersion: [String: ServiceRecord] = [:]
        for entry in entries where entry.service.service == name && !entry.isCritical {
            let decoded: ConsulTags.Decoded
            do {
                decoded = try ConsulTags.decode(entry.service.tags ?? [], maxTagBytes: maxTagBytes)
            } catch {
                logger.warning("skipping a Consul service instance whose tags do not decode",
                               metadata: ["service": "\(name)", "id": "\(entry.service.id)", "error": "\(error)"])
                continue
            }
            let node = Node(id: entry.service.id, address: entry.address, metadata: decoded.nodeMetadata)
            if byVersion[decoded.version] == nil {
                byVersion[decoded.version] = ServiceRecord(name: name, version: decoded.version, metadata: decoded.serviceMetadata,
                                                           endpoints: decoded.endpoints, nodes: [])
            }
            if byVersion[decoded.version]?.nodes.contains(where: { $0.id == node.id }) == false {
                byVersion[decoded.version]?.nodes.append(node)
            }
        }
        return byVersion.values.sorted { $0.version < $1.version }
    }
}
