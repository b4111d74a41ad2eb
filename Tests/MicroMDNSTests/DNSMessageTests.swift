import Testing
@testable import MicroMDNS

@Suite struct DNSMessageTests {
    @Test func aResponseRoundTripsWithEveryRecordTypeAndTheMDNSBits() throws {
        let inst = try DNSName("greeter-1.greeter.micro.")
        var m = DNSMessage.response(answers: [
            DNSResourceRecord(name: try DNSName("greeter.micro."), ttl: 120, data: .ptr(inst)),
            DNSResourceRecord(name: inst, ttl: 120, cacheFlush: true, data: .srv(priority: 1, weight: 2, port: 8080, target: inst)),
            DNSResourceRecord(name: inst, ttl: 120, cacheFlush: true, data: .txt([Array("a=b".utf8), [], Array(repeating: 0x41, count: 255)])),
            DNSResourceRecord(name: inst, ttl: 0, data: .a([127, 0, 0, 1])),
            DNSResourceRecord(name: inst, ttl: 7, data: .aaaa(Array(repeating: 0, count: 15) + [1])),
        ], additionals: [DNSResourceRecord(name: inst, ttl: 1, data: .other(type: .nsec, bytes: [1, 2, 3]))])
        m.questions = [DNSQuestion(name: inst, type: .any, unicastResponse: true)]
        let bytes = try DNSMessageEncoder.encode(m)
        let back = try DNSMessageDecoder.decode(bytes)
        #expect(back == m)
        #expect(back.isResponse && back.isAuthoritative)
        #expect(back.questions[0].unicastResponse)
        #expect(back.answers[1].cacheFlush && !back.answers[0].cacheFlush)
        // Class bits on the wire: QU in the question, cache-flush in the SRV.
        // Names are compressed: the instance's labels are on the wire once.
        let label = Array("greeter-1".utf8)
        let occurrences = (0...(bytes.count - label.count)).filter { Array(bytes[$0..<$0 + label.count]) == label }.count
        #expect(occurrences == 1, "\(occurrences)")
    }

    @Test func namesCompressToPointersAndCompareCaseInsensitively() throws {
        let a = try DNSName("Node.Greeter.MICRO."), b = try DNSName("node.greeter.micro")
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a.hasSuffix(try DNSName("micro.")))
        #expect(!a.hasSuffix(try DNSName("local.")))
        let m = DNSMessage.response(answers: [
            DNSResourceRecord(name: a, ttl: 1, data: .ptr(b)),
            DNSResourceRecord(name: a, ttl: 1, data: .ptr(b)),
        ])
        let bytes = try DNSMessageEncoder.encode(m)
        // header 12 + name 20 + 10 + pointer 2, then pointer 2 + 10 + pointer 2
        #expect(bytes.count == 12 + 20 + 10 + 2 + 2 + 10 + 2)
        #expect(try DNSMessageDecoder.decode(bytes).answers.allSatisfy { $0.name == a && $0.data == .ptr(b) })
    }

    @Test func namesOutsideTheLimitsAreRejectedWhenMade() {
        #expect(throws: DNSError.self) { try DNSName(labels: [Array(repeating: 0x61, count: 64)]) }
        #expect(throws: DNSError.self) { try DNSName(labels: Array(repeating: Array(repeating: 0x61, count: 63), count: 4)) }
        #expect(throws: DNSError.self) { try DNSName("a..b.") }
        #expect((try? DNSName(labels: Array(repeating: Array(repeating: 0x61, count: 62), count: 4))) != nil)
    }

    @Test func aTXTStringOver255BytesCannotBeEncoded() throws {
        let m = DNSMessage.response(answers: [DNSResourceRecord(name: try DNSName("x.micro."), ttl: 1, data: .txt([Array(repeating: 0, count: 256)]))])
        #expect(throws: DNSError.self) { try DNSMessageEncoder.encode(m) }
    }

    @Test func anEmptyTXTIsOneEmptyString() throws {
        let m = DNSMessage.response(answers: [DNSResourceRecord(name: try DNSName("x.micro."), ttl: 1, data: .txt([]))])
        let back = try DNSMessageDecoder.decode(try DNSMessageEncoder.encode(m))
        #expect(back.answers[0].data == .txt([[]]))
    }
}
