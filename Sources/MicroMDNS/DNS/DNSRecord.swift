/// A DNS record type code (RFC 1035 and successors); the ones mDNS service discovery uses are named.
struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt16
    init(rawValue: UInt16) { self.rawValue = rawValue }

    static let a = DNSRecordType(rawValue: 1)
    static let ptr = DNSRecordType(rawValue: 12)
    static let txt = DNSRecordType(rawValue: 16)
    static let aaaa = DNSRecordType(rawValue: 28)
    static let srv = DNSRecordType(rawValue: 33)
    static let nsec = DNSRecordType(rawValue: 47)
    static let any = DNSRecordType(rawValue: 255)

    var description: String {
        switch self {
        case .a: "A"
        case .ptr: "PTR"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        case .nsec: "NSEC"
        case .any: "ANY"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The data of a record, decoded for the types service discovery uses, raw for the others.
enum DNSRecordData: Hashable, Sendable {
    /// An IPv4 address (4 bytes).
    case a([UInt8])
    /// An IPv6 address (16 bytes).
    case aaaa([UInt8])
    /// A pointer to another name (service → instance).
    case ptr(DNSName)
    /// Where an instance runs.
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    /// Character strings of at most 255 bytes each.
    case txt([[UInt8]])
    /// Any other type, kept as bytes (names inside are not decompressed).
    case other(type: DNSRecordType, bytes: [UInt8])

    /// The record type this data belongs to.
    var type: DNSRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ptr: .ptr
        case .srv: .srv
        case .txt: .txt
        case .other(let type, _): type
        }
    }
}

/// A resource record; in mDNS the top bit of the class is the cache-flush bit (RFC 6762 §10.2).
struct DNSResourceRecord: Hashable, Sendable {
    /// The owner name.
    var name: DNSName
    /// The class without the cache-flush bit (1: IN).
    var recordClass: UInt16
    /// Whether the record replaces all earlier ones of its name and type (a unique record).
    var cacheFlush: Bool
    /// Seconds the record may be cached; 0 announces its removal (a goodbye).
    var ttl: UInt32
    /// The data.
    var data: DNSRecordData

    /// The type, from the data.
    var type: DNSRecordType { data.type }

    init(name: DNSName, ttl: UInt32, cacheFlush: Bool = false, recordClass: UInt16 = 1, data: DNSRecordData) {
        self.name = name
        self.recordClass = recordClass
        self.cacheFlush = cacheFlush
        self.ttl = ttl
        self.data = data
    }
}

/// A question; in mDNS the top bit of the class asks for a unicast response (the QU bit, RFC 6762 §5.4).
struct DNSQuestion: Hashable, Sendable {
    /// The name asked about.
    var name: DNSName
    /// The type asked for (`ANY` for all).
    var type: DNSRecordType
    /// The class without the QU bit (1: IN).
    var questionClass: UInt16
    /// Whether the querier prefers a unicast response.
    var unicastResponse: Bool

    init(name: DNSName, type: DNSRecordType, unicastResponse: Bool = false, questionClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.questionClass = questionClass
        self.unicastResponse = unicastResponse
    }

    /// Whether `record` answers this question (name, class and type, `ANY` matching every type).
    func matches(_ record: DNSResourceRecord) -> Bool {
        record.name == name && (type == .any || type == record.type)
            && (questionClass == 255 || questionClass == record.recordClass)
    }
}

/// A DNS message: header, questions and the three record sections.
struct DNSMessage: Hashable, Sendable {
    /// The query id (0 in multicast messages, the query's id in legacy unicast responses).
    var id: UInt16 = 0
    /// The header flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    var flags: UInt16 = 0
    var questions: [DNSQuestion] = []
    var answers: [DNSResourceRecord] = []
    var authorities: [DNSResourceRecord] = []
    var additionals: [DNSResourceRecord] = []

    /// Whether this is a response (QR bit).
    var isResponse: Bool {
        get { flags & 0x8000 != 0 }
        set { flags = newValue ? flags | 0x8000 : flags & ~0x8000 }
    }
    /// Whether the sender is authoritative (AA bit; set in every mDNS response).
    var isAuthoritative: Bool {
        get { flags & 0x0400 != 0 }
        set { flags = newValue ? flags | 0x0400 : flags & ~0x0400 }
    }
    /// Whether more known answers follow in another packet (TC bit).
    var isTruncated: Bool { flags & 0x0200 != 0 }
    /// The opcode (must be 0 in mDNS).
    var opcode: UInt16 { (flags >> 11) & 0xF }
    /// The response code (must be 0 in mDNS).
    var responseCode: UInt16 { flags & 0xF }

    /// Every record of the answer, authority and additional sections.
    var allRecords: [DNSResourceRecord] { answers + authorities + additionals }

    /// An mDNS response (QR and AA set, id 0).
    static func response(answers: [DNSResourceRecord], additionals: [DNSResourceRecord] = []) -> DNSMessage {
        var m = DNSMessage(flags: 0x8400)
        m.answers = answers
        m.additionals = additionals
        return m
    }

    /// An mDNS query.
    static func query(_ questions: [DNSQuestion], knownAnswers: [DNSResourceRecord] = []) -> DNSMessage {
        var m = DNSMessage()
        m.questions = questions
        m.answers = knownAnswers
        return m
    }
}
