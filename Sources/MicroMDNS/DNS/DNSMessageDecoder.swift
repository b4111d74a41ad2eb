/// Reads DNS messages from untrusted bytes, within bounds: packet size, section counts, name length,
/// label length, compression pointers (strictly backwards, a bounded number per name) and record data
/// that must end exactly where its length says. Anything else is a `DNSError`; nothing traps.
struct DNSMessageDecoder {
    /// The bounds a packet must keep.
    struct Limits: Sendable, Hashable {
        /// Largest packet accepted (RFC 6762 §17: 9000 bytes).
        var maxPacketBytes = 9000
        /// Most questions plus records in one message.
        var maxEntries = 512
        /// Most compression pointers followed within one name.
        var maxPointerJumps = 32
    }

    private let bytes: [UInt8]
    private let limits: Limits
    private var position = 0

    private init(_ bytes: [UInt8], limits: Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// Decodes one message.
    static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DNSError) -> DNSMessage {
        guard bytes.count <= limits.maxPacketBytes else { throw DNSError(.packetTooLarge, "\(bytes.count) bytes") }
        var d = DNSMessageDecoder(bytes, limits: limits)
        var m = DNSMessage()
        m.id = try d.u16()
        m.flags = try d.u16()
        let qd = Int(try d.u16()), an = Int(try d.u16()), ns = Int(try d.u16()), ar = Int(try d.u16())
        guard qd + an + ns + ar <= limits.maxEntries else {
            throw DNSError(.tooManyRecords, "\(qd) questions and \(an + ns + ar) records")
        }
        // Each question takes at least 5 bytes and each record at least 11: reject impossible counts early.
        guard qd * 5 + (an + ns + ar) * 11 <= bytes.count - 12 else {
            throw DNSError(.truncated, "counts \(qd)/\(an)/\(ns)/\(ar) do not fit in \(bytes.count) bytes")
        }
        m.questions.reserveCapacity(qd)
        for _ in 0..<qd {
            let name = try d.readName()
            let type = DNSRecordType(rawValue: try d.u16())
            let cls = try d.u16()
            m.questions.append(DNSQuestion(name: name, type: type, unicastResponse: cls & 0x8000 != 0, questionClass: cls & 0x7FFF))
        }
        for _ in 0..<an { m.answers.append(try d.record()) }
        for _ in 0..<ns { m.authorities.append(try d.record()) }
        for _ in 0..<ar { m.additionals.append(try d.record()) }
        return m
    }

    private mutating func u8() throws(DNSError) -> UInt8 {
        guard position < bytes.count else { throw DNSError(.truncated, "at byte \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func u16() throws(DNSError) -> UInt16 {
        guard position + 2 <= bytes.count else { throw DNSError(.truncated, "at byte \(position)") }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    private mutating func u32() throws(DNSError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    private mutating func take(_ count: Int) throws(DNSError) -> [UInt8] {
        guard count >= 0, position + count <= bytes.count else { throw DNSError(.truncated, "\(count) bytes at \(position)") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// Reads a name at the current position, following pointers; leaves the position after the name's
    /// first pointer or root byte.
    private mutating func readName() throws(DNSError) -> DNSName {
        var labels: [[UInt8]] = []
        var wire = 1
        var cursor = position
        var resume: Int?
        var jumps = 0
        // The lowest offset where this name's data was read: a pointer must point below it.
        var floor = position
        while true {
            guard cursor < bytes.count else { throw DNSError(.truncated, "name at \(cursor)") }
            let length = bytes[cursor]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    if resume == nil { resume = cursor + 1 }
                    position = resume!
                    return try DNSName(labels: labels)
                }
                let count = Int(length)
                guard cursor + 1 + count <= bytes.count else { throw DNSError(.truncated, "label at \(cursor)") }
                wire += count + 1
                guard wire <= 255 else { throw DNSError(.nameTooLong, "name at \(position)") }
                labels.append(Array(bytes[(cursor + 1)...(cursor + count)]))
                cursor += 1 + count
            case 0xC0:
                guard cursor + 1 < bytes.count else { throw DNSError(.truncated, "pointer at \(cursor)") }
                let target = Int(length & 0x3F) << 8 | Int(bytes[cursor + 1])
                guard target < floor else { throw DNSError(.badPointer, "pointer at \(cursor) to \(target)") }
                jumps += 1
                guard jumps <= limits.maxPointerJumps else { throw DNSError(.badPointer, "more than \(limits.maxPointerJumps) pointers") }
                if resume == nil { resume = cursor + 2 }
                floor = target
                cursor = target
            default:
                throw DNSError(.badLabelType, "label type 0x\(String(length & 0xC0, radix: 16)) at \(cursor)")
            }
        }
    }

    private mutating func record() throws(DNSError) -> DNSResourceRecord {
        let owner = try readName()
        let type = DNSRecordType(rawValue: try u16())
        let cls = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        guard position + length <= bytes.count else { throw DNSError(.truncated, "record data of \(length) bytes at \(position)") }
        let end = position + length
        let data: DNSRecordData
        switch type {
        case .a:
            guard length == 4 else { throw DNSError(.badRecordData, "A record of \(length) bytes") }
            data = .a(try take(4))
        case .aaaa:
            guard length == 16 else { throw DNSError(.badRecordData, "AAAA record of \(length) bytes") }
            data = .aaaa(try take(16))
        case .ptr:
            data = .ptr(try readName())
        case .srv:
            guard length >= 7 else { throw DNSError(.badRecordData, "SRV record of \(length) bytes") }
            let priority = try u16(), weight = try u16(), port = try u16()
            data = .srv(priority: priority, weight: weight, port: port, target: try readName())
        case .txt:
            var strings: [[UInt8]] = []
            while position < end {
                let count = Int(try u8())
                guard position + count <= end else { throw DNSError(.badRecordData, "TXT string past its record") }
                strings.append(try take(count))
            }
            // RFC 6763 §6.1: empty TXT data means one empty string.
            data = .txt(strings.isEmpty ? [[]] : strings)
        default:
            data = .other(type: type, bytes: try take(length))
        }
        guard position == end else { throw DNSError(.badRecordData, "\(type) data of \(length) bytes, \(position - end + length) read") }
        return DNSResourceRecord(name: owner, ttl: ttl, cacheFlush: cls & 0x8000 != 0, recordClass: cls & 0x7FFF, data: data)
    }
}
