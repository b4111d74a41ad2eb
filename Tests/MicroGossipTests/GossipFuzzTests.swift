import Foundation
@testable import MicroGossip
import MicroTestSupport
import Testing

/// Thousands of mutated real messages through every decoder: each must come back as messages or a
/// ``GossipWireError``, never a crash or another error.
@Suite struct GossipFuzzTests {
    static func corpus() throws -> (packets: [[UInt8]], streams: [[UInt8]]) {
        let meta = SerfTags.encode(["role": "web", "micro": "gossip"])
        let msgs: [GossipMessage] = [
            .ping(PingMessage(seqNo: 77, node: "node-1", sourceAddr: [127, 0, 0, 1], sourcePort: 7946, sourceNode: "node-2")),
            .indirectPing(IndirectPingMessage(seqNo: 3, target: [127, 0, 0, 3], port: 7000, node: "node-3", nack: true)),
            .ack(AckMessage(seqNo: 77, payload: [1, 2, 3, 4])), .nack(seqNo: 12),
            .suspect(AccusationMessage(incarnation: 9, node: "node-3", from: "node-1")),
            .alive(AliveMessage(incarnation: 2, node: "node-4", addr: [127, 0, 0, 4], port: 7946, meta: meta, vsn: GossipStateMachine.versions)),
            .dead(AccusationMessage(incarnation: 2, node: "node-4", from: "node-4")),
            .user(GossipRecords.userMessage([GossipRecords.Update(origin: "node-1", seq: 5, op: "put", ttlMilliseconds: 1000,
                                                                  service: record("svc", nodes: ["svc-1"]))])),
        ]
        let encoded = try msgs.map { try GossipWire.encode($0) }
        var packets = encoded
        packets.append(GossipWire.compound(encoded))
        packets.append(GossipWire.withChecksum(GossipWire.compound(encoded)))
        packets.append(try GoLZW.compressMessage(GossipWire.compound(encoded)))
        let node = PushNodeState(name: "node-1", addr: [127, 0, 0, 1], port: 7946, meta: meta, incarnation: 1, state: .alive, vsn: GossipStateMachine.versions)
        let records = GossipRecords(selfName: "x", tombstoneLifetime: .seconds(1), logger: .init(label: "fuzz"))
        _ = records.registerLocal(record("svc", nodes: ["a", "b"]), ttl: .seconds(5))
        let pp = try GossipWire.encode(.pushPull(PushPullMessage(join: true, nodes: [node, node], userState: records.localState(join: true))))
        let streams = [pp, try GoLZW.compressMessage(pp), try GossipWire.encodeStreamUser([0x4d, 0x01, 0x5b, 0x5d]), encoded[0]]
        return (packets, streams)
    }

    static func mutate(_ input: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !b.isEmpty else { b = [UInt8.random(in: 0...255, using: &rng)]; continue }
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: b[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1: b[i] = UInt8.random(in: 0...255, using: &rng)
            case 2: b[i] = [0x00, 0xff, 0xc1, 0xdb, 0xdd, 0xdf, 0x7f, 0x80, 0x90][Int.random(in: 0..<9, using: &rng)]
            case 3: b.removeSubrange(i..<min(b.count, i + Int.random(in: 1...16, using: &rng)))
            case 4: b.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
            case 5: b = Array(b.prefix(i))
            default:
                let j = Int.random(in: 0..<b.count, using: &rng)
                let (lo, hi) = (min(i, j), max(i, j))
                b.insert(contentsOf: b[lo..<hi], at: hi)
            }
        }
        return b
    }

    @Test func mutatedPacketsAndStreamsNeverCrashTheDecoders() throws {
        let (packets, streams) = try Self.corpus()
        // The unmutated corpus decodes.
        for p in packets { #expect(!(try GossipWire.decodePacket(p)).isEmpty) }
        for s in streams { _ = try GossipWire.decodeStream(s) }
        var rng = SeededGenerator(seed: 0x5eed_0001)
        var decoded = 0, rejected = 0
        let records = GossipRecords(selfName: "fuzz", tombstoneLifetime: .seconds(1), logger: .init(label: "fuzz"))
        for round in 0..<6000 {
            let packet = round % 3 != 2
            let source = packet ? packets[round % packets.count] : streams[round % streams.count]
            let input = Self.mutate(source, &rng)
            do {
                if packet {
                    for m in try GossipWire.decodePacket(input) {
                        decoded += 1
                        if case .user(let payload) = m { records.notifyMessage(payload) }
                    }
                } else {
                    let m = try GossipWire.decodeStream(input)
                    decoded += 1
                    if case .pushPull(let pp) = m { records.mergeRemoteState(pp.userState, join: pp.join) }
                }
            } catch is GossipWireError {
                rejected += 1
            } catch {
                Issue.record("round \(round): unexpected error type \(error)")
            }
        }
        print("gossip fuzz: 6000 mutated inputs, \(decoded) messages decoded, \(rejected) inputs rejected")
        #expect(decoded > 100 && rejected > 100)
    }
}
