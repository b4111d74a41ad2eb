import Foundation
import MicroCore

/// A log record as the dashboard's log tail sends it: the record and the node that logged it.
struct LogLine: Encodable {
    var node: String
    var time: Int64
    var level: String
    var label: String
    var message: String

    /// A batch of one node's records as a JSON array.
    static func json(_ batch: LogBatch, node: String) -> String {
        let lines = batch.records.map { LogLine(node: node, time: $0.time, level: $0.level, label: $0.label, message: $0.message) }
        guard let data = try? JSONEncoder().encode(lines) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }
}
