/// Writes DNS messages with name compression (RFC 1035 §4.1.4): every name suffix already written
/// within the first 16 KiB becomes a pointer.
struct DNSMessageEncoder {
    private var bytes: [UInt8] = []
    private var offsets: [[[UInt8]]: Int] = [:]

    /// The wire form of `message`; throws when a TXT string is over 255 bytes or a record's data over 65535.
    static func encode(_ message: DNSMessage) throws(DNSError) -> [UInt8] {
        var e = DNSMessageEncoder()
        e.bytes.reserveCapacity(512)
        e.u16(message.id)
        e.u16(message.flags)
        for count in [message.questions.count, message.answers.count, message.authorities.count, message.additionals.count] {
            guard count <= 0xFFFF else { throw DNSError(.tooManyRecords, "\(count) entries in one section") }
            e.u16(UInt16(count))
        }
        for q in message.questions {
            e.name(q.name)
            e.u16(q.type.rawValue)
            e.u16((q.questionClass & 0x7FFF) | (q.unicastResponse ? 0x8000 : 0))
        }
        for r in message.answers { try e.record(r) }
        for r in message.authorities { try e.record(r) }
        for r in message.additionals { try e.record(r) }
        return e.bytes
    }

    private mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(v & 0xFF))
    }

    private mutating func u32(_ v: UInt32) {
        u16(UInt16(v >> 16))
        u16(UInt16(v & 0xFFFF))
    }

    private mutating func name(_ name: DNSName) {
        let canonical = name.canonical
        for i in canonical.indices {
            let suffix = Array(canonical[i...])
            if let offset = offsets[suffix] {
                u16(0xC000 | UInt16(offset))
                return
            }
            if bytes.count < 0x3FFF { offsets[suffix] = bytes.count }
            let label = name.labels[i]
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
    }

    private mutating func record(_ r: DNSResourceRecord) throws(DNSError) {
        name(r.name)
        u16(r.type.rawValue)
        u16((r.recordClass & 0x7FFF) | (r.cacheFlush ? 0x8000 : 0))
        u32(r.ttl)
        let lengthAt = bytes.count
        u16(0)
        switch r.data {
        case .a(let address):
            guard address.count == 4 else { throw DNSError(.unencodable, "an A record needs 4 bytes") }
            bytes.append(contentsOf: address)
        case .aaaa(let address):
            guard address.count == 16 else { throw DNSError(.unencodable, "an AAAA record needs 16 bytes") }
            bytes.append(contentsOf: address)
        case .ptr(let target):
            name(target)
        case .srv(let priority, let weight, let port, let target):
            u16(priority)
            u16(weight)
            u16(port)
            name(target)
        case .txt(let strings):
            // RFC 6763 §6.1: an empty TXT record is a single empty string.
            for s in strings.isEmpty ? [[]] : strings {
                guard s.count <= 255 else { throw DNSError(.unencodable, "a TXT string of \(s.count) bytes") }
                bytes.append(UInt8(s.count))
                bytes.append(contentsOf: s)
            }
        case .other(_, let data):
            bytes.append(contentsOf: data)
        }
        let length = bytes.count - lengthAt - 2
        guard length <= 0xFFFF else { throw DNSError(.unencodable, "record data of \(length) bytes") }
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}
