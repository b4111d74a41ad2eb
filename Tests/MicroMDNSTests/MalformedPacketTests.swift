import Testing
@testable import MicroMDNS

/// Hand-made hostile packets: each must fail with the expected typed error, never trap.
@Suite struct MalformedPacketTests {
    static func header(qd: UInt16 = 0, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0, flags: UInt16 = 0x8400) -> [UInt8] {
        [0, 0, UInt8(flags >> 8), UInt8(flags & 0xFF)] + [qd, an, ns, ar].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    static func code(_ bytes: [UInt8]) -> DNSError.Code? {
        do { _ = try DNSMessageDecoder.decode(bytes); return nil } catch { return error.code }
    }

    /// A question section entry: name bytes then type ANY, class IN.
    static func question(_ name: [UInt8]) -> [UInt8] { name + [0, 255, 0, 1] }

    @Test func truncatedHeadersAndBodies() {
        #expect(Self.code([]) == .truncated)
        #expect(Self.code([0, 0, 0x84]) == .truncated)
        #expect(Self.code(Self.header(qd: 1) + [3, 0x61, 0x62]) == .truncated)
        // A record whose data length runs past the end.
        #expect(Self.code(Self.header(an: 1) + [0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0]) == .truncated)
    }

    @Test func countsThatCannotFitOrExceedTheBoundAreRejectedBeforeParsing() {
        #expect(Self.code(Self.header(an: 0xFFFF) + [UInt8](repeating: 0, count: 40)) == .tooManyRecords)
        #expect(Self.code(Self.header(qd: 100) + [UInt8](repeating: 0, count: 40)) == .truncated)
    }

    @Test func reservedLabelTypesAreRejected() {
        #expect(Self.code(Self.header(qd: 1) + Self.question([0x41, 0x61, 0])) == .badLabelType)
        #expect(Self.code(Self.header(qd: 1) + Self.question([0x81, 0x61, 0])) == .badLabelType)
    }

    @Test func nameLongerThan255BytesIsRejected() {
        var name: [UInt8] = []
        for _ in 0..<5 { name += [63] + [UInt8](repeating: 0x61, count: 63) }
        #expect(Self.code(Self.header(qd: 1) + Self.question(name + [0])) == .nameTooLong)
    }

    @Test func pointersMustPointBackwards() {
        // A pointer to itself (offset 12 is where it sits).
        #expect(Self.code(Self.header(qd: 1) + Self.question([0xC0, 12])) == .badPointer)
        // A pointer forwards.
        #expect(Self.code(Self.header(qd: 1) + Self.question([0xC0, 40]) + [UInt8](repeating: 0, count: 40)) == .badPointer)
        // Two names pointing at each other: the first points forward into the second.
        let loop = Self.header(qd: 2) + Self.question([1, 0x61, 0xC0, 22]) + Self.question([1, 0x62, 0xC0, 12])
        #expect(Self.code(loop) == .badPointer)
        // A pointer past the end of the packet.
        #expect(Self.code(Self.header(qd: 1) + Self.question([0xFF, 0xFF])) == .badPointer)
    }

    @Test func aLongChainOfBackwardPointersIsCut() {
        // 40 questions, each a pointer to the previous one's name: a chain of 40 jumps for the last.
        var bytes = Self.header(qd: 41) + Self.question([1, 0x61, 0])
        var previous = 12
        for _ in 0..<40 {
            let here = bytes.count
            bytes += Self.question([0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)])
            previous = here
        }
        #expect(Self.code(bytes) == .badPointer)
        var limits = DNSMessageDecoder.Limits()
        limits.maxPointerJumps = 64
        #expect((try? DNSMessageDecoder.decode(bytes, limits: limits))?.questions.count == 41)
    }

    @Test func recordDataMustMatchItsType() {
        let owner: [UInt8] = [1, 0x61, 0]
        func record(type: UInt16, _ data: [UInt8]) -> [UInt8] {
            Self.header(an: 1) + owner + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 120, UInt8(data.count >> 8), UInt8(data.count & 0xFF)] + data
        }
        #expect(Self.code(record(type: 1, [1, 2, 3, 4, 5])) == .badRecordData)
        #expect(Self.code(record(type: 28, [1, 2, 3, 4])) == .badRecordData)
        #expect(Self.code(record(type: 33, [0, 1, 0, 1])) == .badRecordData)
        #expect(Self.code(record(type: 16, [5, 0x61])) == .badRecordData)
        // A PTR whose name runs past its data length.
        #expect(Self.code(record(type: 12, [1, 0x62, 0])) == nil)
        var shortPTR = record(type: 12, [1, 0x62, 0])
        shortPTR[shortPTR.count - 4] = 2  // data length 2, the name takes 3
        #expect(Self.code(shortPTR) == .badRecordData)
        #expect(Self.code(record(type: 16, [3, 0x61, 0x62, 0x63])) == nil)
    }

    @Test func packetsOverTheSizeLimitAreRejected() {
        let big = Self.header() + [UInt8](repeating: 0, count: 9000)
        #expect(Self.code(big) == .packetTooLarge)
    }
}
