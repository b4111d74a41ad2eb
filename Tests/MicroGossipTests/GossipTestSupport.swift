import Foundation
import MicroCore
@testable import MicroGossip
import NIOConcurrencyHelpers

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// A value shared between a test and the tasks it starts.
final class Box<Value: Sendable>: Sendable {
    private let lock: NIOLockedValueBox<Value>
    init(_ value: Value) { lock = NIOLockedValueBox(value) }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLockedValue(body) }
    var value: Value { lock.withLockedValue { $0 } }
}

/// A started member with the fast test timings, named `name`, joining `seeds`.
func startNode(_ name: String, seeds: [String] = [], tune: (inout GossipConfiguration) -> Void = { _ in }) async throws -> GossipRegistry {
    var c = GossipConfiguration.fast()
    c.nodeName = name
    c.seeds = seeds
    tune(&c)
    let r = GossipRegistry(configuration: c)
    try await r.start()
    return r
}

/// A single-node record as the conformance suite writes it.
func record(_ name: String = "conf", version: String = "1.0.0", nodes: [String], meta: [String: String] = [:]) -> ServiceRecord {
    ServiceRecord(
        name: name, version: version, metadata: ["team": "core"],
        endpoints: [Endpoint(name: "Conf.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                             response: Value(name: "Rsp", type: "Rsp"), metadata: ["stream": "false"])],
        nodes: nodes.map { Node(id: $0, address: "127.0.0.1:8080", metadata: ["protocol": "mucp"].merging(meta) { $1 }) })
}

/// The node ids `registry` lists for `name`, across versions.
func nodeIDs(_ registry: any Registry, _ name: String) async -> Set<String> {
    Set(((try? await registry.getService(name)) ?? []).flatMap(\.nodes).map(\.id))
}

/// The names of the members `registry` sees in `state` (itself excluded).
func memberNames(_ registry: GossipRegistry, _ state: GossipMemberState = .alive) async -> Set<String> {
    Set(((try? await registry.members()) ?? []).filter { $0.state == state && $0.name != registry.nodeName }.map(\.name))
}

/// Go's `compress/lzw` writer (LSB, 8-bit literals), to make compressed messages as memberlist does.
enum GoLZW {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var bits: UInt32 = 0
        var nBits = 0
        var width = 9
        var hi = 257
        var overflow = 512
        var table: [Int: Int] = [:]
        func write(_ code: Int) {
            bits |= UInt32(code) << UInt32(nBits)
            nBits += width
            while nBits >= 8 {
                out.append(UInt8(bits & 0xff))
                bits >>= 8
                nBits -= 8
            }
        }
        /// Returns false when the codes ran out and the table was cleared.
        func incHi() -> Bool {
            hi += 1
            if hi == overflow {
                width += 1
                overflow <<= 1
            }
            if hi == 4095 {
                write(256)
                width = 9
                hi = 257
                overflow = 512
                table.removeAll()
                return false
            }
            return true
        }
        write(256)
        guard var code = input.first.map(Int.init) else {
            write(257)
            if nBits > 0 { out.append(UInt8(bits & 0xff)) }
            return out
        }
        for x in input.dropFirst() {
            let key = code << 8 | Int(x)
            if let hit = table[key] {
                code = hit
                continue
            }
            write(code)
            code = Int(x)
            if incHi() { table[key] = hi }
        }
        write(code)
        _ = incHi()
        write(257)
        if nBits > 0 { out.append(UInt8(bits & 0xff)) }
        return out
    }

    /// A memberlist `compress` message wrapping `payload`.
    static func compressMessage(_ payload: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = [9]
        try MessagePack.encode(.map([MessagePackPair(.string("Algo"), .uint(0)), MessagePackPair(.string("Buf"), .raw(compress(payload)))]), into: &out)
        return out
    }
}

