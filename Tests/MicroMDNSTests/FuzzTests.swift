import NIOCore
import MicroTestSupport
import Testing
@testable import MicroMDNS

/// Seeded mutation fuzzing of real packets through the decoder, the cache and the responder: every
/// outcome is a value or a ``DNSError``; anything decoded encodes again and decodes to the same.
@Suite struct FuzzTests {
    static func mutate(_ packet: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var p = packet
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !p.isEmpty:  // flip a byte
                p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !p.isEmpty:  // truncate
                p.removeLast(Int.random(in: 0...p.count, using: &rng))
            case 2:  // insert bytes
                let at = Int.random(in: 0...p.count, using: &rng)
                p.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            case 3 where p.count > 2:  // plant a compression pointer anywhere
                let at = Int.random(in: 0..<(p.count - 1), using: &rng)
                let target = Int.random(in: 0..<(p.count + 16), using: &rng)
                p[at] = 0xC0 | UInt8((target >> 8) & 0x3F)
                p[at + 1] = UInt8(target & 0xFF)
            case 4 where p.count >= 12:  // inflate a section count
                let at = 4 + 2 * Int.random(in: 0..<4, using: &rng)
                p[at] = UInt8.random(in: 0...255, using: &rng)
                p[at + 1] = UInt8.random(in: 0...255, using: &rng)
            case 5 where !p.isEmpty:  // a length byte set to something large
                p[Int.random(in: 0..<p.count, using: &rng)] = [63, 64, 0x80, 0xBF, 0xFF, 255][Int.random(in: 0..<6, using: &rng)]
            default:  // splice a piece of the packet onto itself
                if p.count > 4 {
                    let a = Int.random(in: 0..<p.count, using: &rng), b = Int.random(in: a...p.count, using: &rng)
                    p.append(contentsOf: p[a..<b])
                }
            }
        }
        return p
    }

    static func decode(_ bytes: [UInt8]) -> Result<DNSMessage, DNSError> {
        do { return .success(try DNSMessageDecoder.decode(bytes)) } catch { return .failure(error) }
    }

    @Test(arguments: [UInt64(1), 42, 0xDEAD_BEEF])
    func mutatedRealPacketsNeverTrap(seed: UInt64) throws {
        let corpus = try Fixtures.packets()
        var rng = SeededGenerator(seed: seed)
        var cache = MDNSPeerCache(names: Fixtures.names, maxPayloadBytes: 64 * 1024, maxInstances: 256)
        let groups = try Fixtures.local(Fixtures.record()).groups
        var decoded = 0, rejected: [DNSError.Code: Int] = [:]
        let now = NIODeadline.now()
        for i in 0..<4000 {
            let packet = Self.mutate(corpus[i % corpus.count], &rng)
            switch Self.decode(packet) {
            case .success(let m):
                decoded += 1
                let again = Self.decode((try? DNSMessageEncoder.encode(m)) ?? [])
                #expect(again == .success(m))
                _ = cache.ingest(m, now: now + .milliseconds(Int64(i)))
                _ = MDNSResponder.replies(to: m, sourcePort: i % 2 == 0 ? 5353 : 40000, mdnsPort: 5353, groups: groups, meta: [])
            case .failure(let e):
                rejected[e.code, default: 0] += 1
            }
            if i % 500 == 0 { _ = cache.expire(now: now + .seconds(Int64(i))) }
        }
        // Both outcomes happen: the fuzzer reaches past the header checks and the error paths.
        #expect(decoded > 200, "decoded \(decoded)")
        #expect(rejected.values.reduce(0, +) > 1000, "\(rejected)")
        #expect(rejected.keys.count >= 4, "\(rejected)")
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? DNSMessageDecoder.decode(bytes)
        }
    }
}
