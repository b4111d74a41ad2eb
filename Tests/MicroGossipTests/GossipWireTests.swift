import Foundation
@testable import MicroGossip
import MicroTestSupport
import Testing

@Suite struct GossipWireTests {
    @Test func msgpackWritesWhatGoMsgpackWritesAndReadsItBack() throws {
        // go-msgpack's default handle: old-spec raw for strings and bytes, smallest uint form.
        let ping = try GossipWire.encode(.ping(PingMessage(seqNo: 1, node: "a")))
        #expect(ping == [0x00, 0x82, 0xa5] + Array("SeqNo".utf8) + [0x01, 0xa4] + Array("Node".utf8) + [0xa1, 0x61])
        let values: [MessagePackValue] = [
            .null, .bool(true), .bool(false), .uint(0), .uint(127), .uint(128), .uint(65_535), .uint(1 << 40), .int(-1), .int(-33),
            .int(-40_000), .int(Int64.min), .float(1.5), .raw([]), .raw(Array(repeating: 7, count: 31)), .raw(Array(repeating: 7, count: 70_000)),
            .array((0..<20).map { .uint(UInt64($0)) }), .map([MessagePackPair(.string("k"), .array([.null, .string("v")]))]),
        ]
        for v in values {
            let bytes = try MessagePack.encode(v)
            let (back, used) = try MessagePack.decode(bytes)
            #expect(back == v)
            #expect(used == bytes.count)
        }
        // Newer forms a peer may send: str8, bin8, signed int for a positive value, float32.
        #expect(try MessagePack.decode([0xd9, 0x02, 0x68, 0x69]).value == .raw(Array("hi".utf8)))
        #expect(try MessagePack.decode([0xc4, 0x01, 0xff]).value == .raw([0xff]))
        #expect(try MessagePack.decode([0xd0, 0x05]).value.unsignedValue == 5)
        #expect(try MessagePack.decode([0xca, 0x3f, 0xc0, 0x00, 0x00]).value == .float(1.5))
    }

    @Test func msgpackRejectsBadInputWithTypedErrors() {
        func code(_ bytes: [UInt8], _ limits: MessagePack.Limits = .init()) -> GossipWireError.Code? {
            do { _ = try MessagePack.decode(bytes, limits: limits); return nil } catch let e as GossipWireError { return e.code } catch { return nil }
        }
        #expect(code([0xc1]) == .badValue)
        #expect(code([0xdb, 0xff, 0xff, 0xff, 0xff]) == .tooLarge)           // 4 GiB string
        #expect(code([0xdd, 0xff, 0xff, 0xff, 0xff]) == .tooLarge)           // 4 G items
        #expect(code([0xdc, 0x00, 0x10, 0x01]) == .truncated)               // 16 items, 1 byte
        #expect(code([0xa5, 0x61]) == .truncated)
        #expect(code(Array(repeating: 0x91, count: 40) + [0x00]) == .tooDeep)
        #expect(code([0xda, 0x01, 0x00] + Array(repeating: 0, count: 256), .init(maxBytes: 100)) == .tooLarge)
    }

    @Test func everyMemberlistMessageRoundTrips() throws {
        let messages: [GossipMessage] = [
            .ping(PingMessage(seqNo: 7, node: "n1", sourceAddr: [127, 0, 0, 1], sourcePort: 7946, sourceNode: "n2")),
            .indirectPing(IndirectPingMessage(seqNo: 8, target: [127, 0, 0, 2], port: 1, node: "t", nack: true, sourceAddr: [127, 0, 0, 1], sourcePort: 2, sourceNode: "s")),
            .ack(AckMessage(seqNo: 9, payload: [1, 2, 3])), .ack(AckMessage(seqNo: 10)), .nack(seqNo: 11),
            .suspect(AccusationMessage(incarnation: 3, node: "x", from: "y")), .dead(AccusationMessage(incarnation: 4, node: "x", from: "x")),
            .alive(AliveMessage(incarnation: 5, node: "z", addr: [10, 0, 0, 1], port: 7946, meta: SerfTags.encode(["role": "web"]), vsn: GossipStateMachine.versions)),
            .user([0x4d, 0x01, 0x5b, 0x5d]), .error("boom"),
        ]
        for m in messages {
            #expect(try GossipWire.decodePacket(GossipWire.encode(m)) == [m])
        }
        // Compound, inside a checksum, inside compression: all unwrapped.
        let parts = try messages.prefix(4).map { try GossipWire.encode($0) }
        let wrapped = try GossipWire.withChecksum(GoLZW.compressMessage(GossipWire.compound(parts)))
        #expect(try GossipWire.decodePacket(wrapped) == Array(messages.prefix(4)))
        var corrupt = GossipWire.withChecksum(GossipWire.compound(parts))
        corrupt[corrupt.count - 1] ^= 0xff
        #expect(throws: GossipWireError(.badChecksum)) { try GossipWire.decodePacket(corrupt) }
    }

    @Test func aTruncatedCompoundKeepsItsWholeParts() throws {
        let a = try GossipWire.encode(.nack(seqNo: 1)), b = try GossipWire.encode(.nack(seqNo: 2))
        let packet = GossipWire.compound([a, b]).dropLast(2)
        #expect(try GossipWire.decodePacket(Array(packet)) == [.nack(seqNo: 1)])
    }

    @Test func streamsDecodePushPullAndUserMessagesAndAskForMoreWhenCut() throws {
        let node = PushNodeState(name: "n1", addr: [127, 0, 0, 1], port: 7946, meta: SerfTags.encode(["a": "b"]), incarnation: 3, state: .suspect,
                                 vsn: GossipStateMachine.versions)
        let pp = PushPullMessage(join: true, nodes: [node, node], userState: [2, 0x80, 9, 9])
        let bytes = try GossipWire.encode(.pushPull(pp))
        #expect(try GossipWire.decodeStream(bytes) == .pushPull(pp))
        for cut in [1, 5, bytes.count / 2, bytes.count - 1] {
            #expect(throws: GossipWireError.self) { try GossipWire.decodeStream(Array(bytes.prefix(cut))) }
            do { _ = try GossipWire.decodeStream(Array(bytes.prefix(cut))) } catch let e as GossipWireError { #expect(e.code == .truncated, "cut \(cut)") }
        }
        // Compressed, as memberlist always sends push-pull.
        #expect(try GossipWire.decodeStream(GoLZW.compressMessage(bytes)) == .pushPull(pp))
        let user = try GossipWire.encodeStreamUser(Array(repeating: 0x41, count: 3000))
        #expect(try GossipWire.decodeStream(user) == .user(Array(repeating: 0x41, count: 3000)))
    }

    @Test func lzwDecodesGoStreamsOfEveryShape() throws {
        var rng = SeededGenerator(seed: 42)
        let inputs: [[UInt8]] = [
            [], [1], Array("TOBEORNOTTOBEORTOBEORNOT".utf8), Array(repeating: 0, count: 100_000),
            (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) },        // runs out of codes: clear codes mid-stream
            (0..<50_000).map { _ in UInt8.random(in: 0...3, using: &rng) },
        ]
        for input in inputs {
            #expect(try LZWDecoder.decompress(GoLZW.compress(input), limit: 1 << 20) == input)
        }
        #expect(throws: GossipWireError.self) { try LZWDecoder.decompress(GoLZW.compress(Array(repeating: 1, count: 5000)), limit: 100) }
        #expect(throws: GossipWireError.self) { try LZWDecoder.decompress([0xff, 0xff, 0xff], limit: 100) }
    }

    @Test func serfTagsRoundTripAndOldRoleMetaReads() {
        let tags = ["role": "web", "micro": "gossip"]
        let meta = SerfTags.encode(tags)
        #expect(meta.first == 255)
        #expect(SerfTags.decode(meta) == tags)
        #expect(SerfTags.decode(Array("db".utf8)) == ["role": "db"])
        #expect(SerfTags.decode([255, 0xc1]) == [:])
    }

    @Test func suspicionShrinksWithConfirmations() {
        var s = GossipSuspicion(from: "a", k: 3, min: .seconds(1), max: .seconds(6), now: .uptimeNanoseconds(0))
        let full = s.deadline
        #expect(full == .uptimeNanoseconds(6_000_000_000))
        let byAccuser = s.confirm(from: "a")
        #expect(!byAccuser)                  // the accuser is no confirmation
        let byB = s.confirm(from: "b")
        #expect(byB)
        let one = s.deadline
        #expect(one < full)
        let byC = s.confirm(from: "c"), byD = s.confirm(from: "d"), byE = s.confirm(from: "e")
        #expect(byC && byD)
        #expect(!byE)                        // k reached
        #expect(s.deadline == .uptimeNanoseconds(1_000_000_000))
        let none = GossipSuspicion(from: "a", k: 0, min: .seconds(1), max: .seconds(6), now: .uptimeNanoseconds(0))
        #expect(none.deadline == .uptimeNanoseconds(1_000_000_000))
    }

    @Test func broadcastQueueRetransmitsALimitedNumberOfTimesAndNewerReplacesOlder() {
        var q = GossipBroadcastQueue()
        q.enqueue(key: "a", message: [1])
        q.enqueue(key: "a", message: [2])
        q.enqueue(key: "b", message: [3])
        #expect(q.count == 2)
        #expect(GossipBroadcastQueue.limit(mult: 4, members: 5) == 4)
        #expect(GossipBroadcastQueue.limit(mult: 4, members: 20) == 8)
        var sent = 0
        for _ in 0..<10 { sent += q.take(budget: 100, overhead: 2, limit: 3).count }
        #expect(sent == 6)
        #expect(q.count == 0)
        q.enqueue(key: "big", message: Array(repeating: 0, count: 200))
        #expect(q.take(budget: 100, overhead: 2, limit: 3).isEmpty)
    }
}
