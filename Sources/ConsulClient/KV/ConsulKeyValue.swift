import Foundation

/// One key of Consul's key-value store, as `GET /v1/kv/<prefix>?recurse` lists it.
public struct ConsulKeyValue: Sendable, Hashable {
    /// The key (no leading `/`).
    public var key: String
    /// The value (empty for a key stored without one).
    public var value: [UInt8]
    /// The index of the key's last change.
    public var modifyIndex: UInt64

    /// A key-value.
    public init(key: String, value: [UInt8], modifyIndex: UInt64 = 0) {
        self.key = key
        self.value = value
        self.modifyIndex = modifyIndex
    }

    private struct Wire: Decodable {
        var Key: String
        var Value: String?
        var ModifyIndex: UInt64?
    }

    /// Decodes a listing; a body that is not a list of key entries, or a value that is not base64, is
    /// ``ConsulError/Code/invalidResponse``.
    package static func decodeList(_ body: [UInt8]) throws(ConsulError) -> [ConsulKeyValue] {
        if JSONDepth.exceeds(body, limit: 8) { throw ConsulError(.invalidResponse, "key-value answer nested too deep") }
        let wire: [Wire]
        do { wire = try JSONDecoder().decode([Wire].self, from: Data(body)) } catch {
            throw ConsulError(.invalidResponse, "key-value answer is not a list of keys: \(error)", cause: error)
        }
        var result: [ConsulKeyValue] = []
        result.reserveCapacity(wire.count)
        for entry in wire {
            var value: [UInt8] = []
            if let text = entry.Value {
                guard let data = Data(base64Encoded: text) else {
                    throw ConsulError(.invalidResponse, "the value of \(String(entry.Key.prefix(120)).debugDescription) is not base64")
                }
                value = Array(data)
            }
            result.append(ConsulKeyValue(key: entry.Key, value: value, modifyIndex: entry.ModifyIndex ?? 0))
        }
        return result
    }
}
