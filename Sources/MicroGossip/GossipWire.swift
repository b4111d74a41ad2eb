/// memberlist's wire format: encoding each message (type byte + msgpack), compound packets, and
/// decoding packets and streams with their wrappers (`hasCrc`, `compress`, `compound`), all bounded.
enum GossipWire {
    /// Bounds on what a peer may send.
    struct Limits: Sendable {
        /// Largest UDP packet read.
        var maxPacket = 65_536
        /// Largest stream (push-pull, user message) read, compressed or not (memberlist: 20 MiB).
        var maxStream = 20 << 20
        /// Largest decompressed payload (memberlist: 40 MiB).
        var maxDecompressed = 40 << 20
        /// Most members in one push-pull.
        var maxPushNodes = 1 << 16
        /// Deepest nesting of compound/compress/crc wrappers.
        var maxWrapping = 4
        /// Bounds of the msgpack decoder.
        var msgpack = MessagePack.Limits(maxDepth: 16, maxCount: 1 << 16, maxBytes: 20 << 20)
    }

    // MARK: Encoding

    static func encode(_ message: GossipMessage) throws -> [UInt8] {
        var out: [UInt8] = []
        func body(_ type: GossipMessageType, _ fields: [(String, MessagePackValue)]) throws {
            out.append(type.rawValue)
            try MessagePack.encode(.map(fields.map { MessagePackPair(.string($0.0), $0.1) }), into: &out)
        }
        switch message {
        case .ping(let p):
            var fields: [(String, MessagePackValue)] = [("SeqNo", .uint(UInt64(p.seqNo))), ("Node", .string(p.node))]
            if !p.sourceAddr.isEmpty { fields.append(("SourceAddr", .raw(p.sourceAddr))) }
            if p.sourcePort != 0 { fields.append(("SourcePort", .uint(UInt64(p.sourcePort)))) }
            if !p.sourceNode.isEmpty { fields.append(("SourceNode", .string(p.sourceNode))) }
            try body(.ping, fields)
        case .indirectPing(let p):
            var fields: [(String, MessagePackValue)] = [
                ("SeqNo", .uint(UInt64(p.seqNo))), ("Target", .raw(p.target)), ("Port", .uint(UInt64(p.port))),
                ("Node", .string(p.node)), ("Nack", .bool(p.nack)),
            ]
            if !p.sourceAddr.isEmpty { fields.append(("SourceAddr", .raw(p.sourceAddr))) }
            if p.sourcePort != 0 { fields.append(("SourcePort", .uint(UInt64(p.sourcePort)))) }
            if !p.sourceNode.isEmpty { fields.append(("SourceNode", .string(p.sourceNode))) }
            try body(.indirectPing, fields)
        case .ack(let a):
            try body(.ack, [("SeqNo", .uint(UInt64(a.seqNo))), ("Payload", a.payload.isEmpty ? .null : .raw(a.payload))])
        case .nack(let seq):
            try body(.nack, [("SeqNo", .uint(UInt64(seq)))])
        case .suspect(let s):
            try body(.suspect, [("Incarnation", .uint(UInt64(s.incarnation))), ("Node", .string(s.node)), ("From", .string(s.from))])
        case .dead(let d):
            try body(.dead, [("Incarnation", .uint(UInt64(d.incarnation))), ("Node", .string(d.node)), ("From", .string(d.from))])
        case .alive(let a):
            try body(.alive, [
                ("Incarnation", .uint(UInt64(a.incarnation))), ("Node", .string(a.node)), ("Addr", .raw(a.addr)),
                ("Port", .uint(UInt64(a.port))), ("Meta", .raw(a.meta)), ("Vsn", .raw(a.vsn)),
            ])
        case .pushPull(let p):
            out.append(GossipMessageType.pushPull.rawValue)
            try MessagePack.encode(.map([
                MessagePackPair(.string("Nodes"), .uint(UInt64(p.nodes.count))),
                MessagePackPair(.string("UserStateLen"), .uint(UInt64(p.userState.count))),
                MessagePackPair(.string("Join"), .bool(p.join)),
            ]), into: &out)
            for n in p.nodes {
                try MessagePack.encode(.map([
                    MessagePackPair(.string("Name"), .string(n.name)), MessagePackPair(.string("Addr"), .raw(n.addr)),
                    MessagePackPair(.string("Port"), .uint(UInt64(n.port))), MessagePackPair(.string("Meta"), .raw(n.meta)),
                    MessagePackPair(.string("Incarnation"), .uint(UInt64(n.incarnation))),
                    MessagePackPair(.string("State"), .uint(UInt64(n.state.rawValue))), MessagePackPair(.string("Vsn"), .raw(n.vsn)),
                ]), into: &out)
            }
            out.append(contentsOf: p.userState)
        case .user(let payload):
            out.append(GossipMessageType.user.rawValue)
            out.append(contentsOf: payload)
        case .error(let text):
            try body(.err, [("Error", .string(text))])
        }
        return out
    }

    /// A user message as sent on a stream: type, msgpack `{UserMsgLen}`, then the payload.
    static func encodeStreamUser(_ payload: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = [GossipMessageType.user.rawValue]
        try MessagePack.encode(.map([MessagePackPair(.string("UserMsgLen"), .uint(UInt64(payload.count)))]), into: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// Several encoded messages in one `compound` packet (at most 255, each under 64 KiB).
    static func compound(_ parts: [[UInt8]]) -> [UInt8] {
        precondition(parts.count <= 255 && parts.allSatisfy { $0.count <= 0xffff })
        if parts.count == 1 { return parts[0] }
        var out: [UInt8] = [GossipMessageType.compound.rawValue, UInt8(parts.count)]
        for p in parts { out.append(UInt8(p.count >> 8)); out.append(UInt8(p.count & 0xff)) }
        for p in parts { out.append(contentsOf: p) }
        return out
    }

    /// The bytes one more part adds to a compound packet.
    static let compoundPartOverhead = 2
    /// The bytes a compound header takes.
    static let compoundHeaderOverhead = 2

    /// `packet` behind a `hasCrc` header (for peers that speak protocol 5).
    static func withChecksum(_ packet: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [GossipMessageType.hasCrc.rawValue]
        MessagePack.appendBE(UInt64(CRC32.checksum(packet)), 4, &out)
        out.append(contentsOf: packet)
        return out
    }

    // MARK: Decoding packets

    /// Every message in a UDP packet (compound parts that fail to decode are dropped one by one;
    /// a packet with no readable message throws).
    static func decodePacket(_ bytes: [UInt8], limits: Limits = Limits()) throws -> [GossipMessage] {
        guard bytes.count <= limits.maxPacket else { throw GossipWireError(.tooLarge, "packet of \(bytes.count) bytes") }
        var out: [GossipMessage] = []
        var firstError: GossipWireError?
        try decodePacket(bytes[...], depth: 0, limits: limits, into: &out, firstError: &firstError)
        if out.isEmpty, let firstError { throw firstError }
        return out
    }

    private static func decodePacket(_ bytes: ArraySlice<UInt8>, depth: Int, limits: Limits, into out: inout [GossipMessage],
                                     firstError: inout GossipWireError?) throws {
        guard depth <= limits.maxWrapping else { throw GossipWireError(.tooDeep, "wrappers nested \(depth) deep") }
        guard let first = bytes.first else { throw GossipWireError(.truncated, "empty packet") }
        let rest = bytes.dropFirst()
        guard let type = GossipMessageType(rawValue: first) else { throw GossipWireError(.unsupportedMessage, "type \(first)") }
        switch type {
        case .hasCrc:
            guard rest.count >= 4 else { throw GossipWireError(.truncated, "crc header") }
            let start = rest.startIndex
            let expected = UInt32(rest[start]) << 24 | UInt32(rest[start + 1]) << 16 | UInt32(rest[start + 2]) << 8 | UInt32(rest[start + 3])
            let payload = rest.dropFirst(4)
            guard CRC32.checksum(payload) == expected else { throw GossipWireError(.badChecksum) }
            try decodePacket(payload, depth: depth + 1, limits: limits, into: &out, firstError: &firstError)
        case .compress:
            let inner = try decompress(Array(rest), limits: limits).payload
            try decodePacket(inner[...], depth: depth + 1, limits: limits, into: &out, firstError: &firstError)
        case .compound:
            guard let n = rest.first else { throw GossipWireError(.truncated, "compound count") }
            var cursor = rest.startIndex + 1
            guard rest.endIndex - cursor >= Int(n) * 2 else { throw GossipWireError(.truncated, "compound lengths") }
            var lengths: [Int] = []
            for _ in 0..<Int(n) {
                lengths.append(Int(rest[cursor]) << 8 | Int(rest[cursor + 1]))
                cursor += 2
            }
            for length in lengths {
                guard rest.endIndex - cursor >= length else {
                    firstError = firstError ?? GossipWireError(.truncated, "compound part")
                    break
                }
                let part = rest[cursor..<(cursor + length)]
                cursor += length
                do {
                    try decodePacket(part, depth: depth + 1, limits: limits, into: &out, firstError: &firstError)
                } catch let e as GossipWireError {
                    firstError = firstError ?? e
                }
            }
        case .user:
            out.append(.user(Array(rest)))
        case .pushPull, .encrypt:
            throw GossipWireError(.unsupportedMessage, "\(type) in a packet")
        default:
            let (body, _) = try MessagePack.decode(Array(rest), limits: limits.msgpack)
            out.append(try message(type, body))
        }
    }

    /// The message of `type` held in the msgpack map `body`.
    static func message(_ type: GossipMessageType, _ body: MessagePackValue) throws -> GossipMessage {
        guard case .map = body else { throw GossipWireError(.badValue, "\(type) body is not a map") }
        switch type {
        case .ping:
            return .ping(PingMessage(seqNo: try u32(body, "SeqNo"), node: try string(body, "Node", required: false),
                                     sourceAddr: try Self.bytes(body, "SourceAddr"), sourcePort: try u16(body, "SourcePort", required: false),
                                     sourceNode: try string(body, "SourceNode", required: false)))
        case .indirectPing:
            return .indirectPing(IndirectPingMessage(
                seqNo: try u32(body, "SeqNo"), target: try Self.bytes(body, "Target"), port: try u16(body, "Port"),
                node: try string(body, "Node", required: false), nack: try bool(body, "Nack"),
                sourceAddr: try Self.bytes(body, "SourceAddr"), sourcePort: try u16(body, "SourcePort", required: false),
                sourceNode: try string(body, "SourceNode", required: false)))
        case .ack:
            return .ack(AckMessage(seqNo: try u32(body, "SeqNo"), payload: try Self.bytes(body, "Payload")))
        case .nack:
            return .nack(seqNo: try u32(body, "SeqNo"))
        case .suspect:
            return .suspect(AccusationMessage(incarnation: try u32(body, "Incarnation"), node: try string(body, "Node"),
                                              from: try string(body, "From", required: false)))
        case .dead:
            return .dead(AccusationMessage(incarnation: try u32(body, "Incarnation"), node: try string(body, "Node"),
                                           from: try string(body, "From", required: false)))
        case .alive:
            return .alive(AliveMessage(incarnation: try u32(body, "Incarnation"), node: try string(body, "Node"),
                                       addr: try Self.bytes(body, "Addr"), port: try u16(body, "Port"),
                                       meta: try Self.bytes(body, "Meta"), vsn: try Self.bytes(body, "Vsn")))
        case .err:
            return .error(try string(body, "Error", required: false))
        default:
            throw GossipWireError(.unsupportedMessage, "\(type)")
        }
    }

    // MARK: Decoding streams

    /// The one message at the start of a TCP stream: `pushPull`, `ping`, `ack`, `user` (with its
    /// length header) or `error`, possibly compressed. Throws `truncated` while more bytes are needed.
    static func decodeStream(_ bytes: [UInt8], limits: Limits = Limits()) throws -> GossipMessage {
        guard bytes.count <= limits.maxStream else { throw GossipWireError(.tooLarge, "stream of \(bytes.count) bytes") }
        guard let first = bytes.first else { throw GossipWireError(.truncated, "empty stream") }
        guard let type = GossipMessageType(rawValue: first) else { throw GossipWireError(.unsupportedMessage, "stream type \(first)") }
        if type == .compress {
            let (payload, _) = try decompress(Array(bytes.dropFirst()), limits: limits)
            guard let innerFirst = payload.first, let inner = GossipMessageType(rawValue: innerFirst), inner != .compress else {
                throw GossipWireError(.unsupportedMessage, "compressed stream holds no message")
            }
            do {
                return try decodeStreamBody(inner, payload, limits: limits)
            } catch let e as GossipWireError where e.code == .truncated {
                // The compressed payload is complete: a short body inside it is an error, not a wait.
                throw GossipWireError(.badValue, "compressed \(inner) is cut short: \(e.detail)")
            }
        }
        return try decodeStreamBody(type, bytes, limits: limits)
    }

    private static func decodeStreamBody(_ type: GossipMessageType, _ bytes: [UInt8], limits: Limits) throws -> GossipMessage {
        switch type {
        case .pushPull:
            let (header, used) = try MessagePack.decode(bytes, from: 1, limits: limits.msgpack)
            guard case .map = header else { throw GossipWireError(.badValue, "push-pull header is not a map") }
            guard let count = header["Nodes"]?.unsignedValue, count <= UInt64(limits.maxPushNodes) else {
                throw GossipWireError(.tooLarge, "push-pull node count")
            }
            guard let userLength = (header["UserStateLen"] ?? .uint(0)).unsignedValue, userLength <= UInt64(limits.maxStream) else {
                throw GossipWireError(.tooLarge, "push-pull user state length")
            }
            let join = try bool(header, "Join")
            var offset = 1 + used
            var nodes: [PushNodeState] = []
            for _ in 0..<Int(count) {
                let (n, used) = try MessagePack.decode(bytes, from: offset, limits: limits.msgpack)
                offset += used
                guard case .map = n else { throw GossipWireError(.badValue, "push-pull node is not a map") }
                let stateRaw = try u32(n, "State")
                guard stateRaw <= 255, let state = GossipMemberState(rawValue: UInt8(stateRaw)) else {
                    throw GossipWireError(.badValue, "member state \(stateRaw)")
                }
                nodes.append(PushNodeState(name: try string(n, "Name"), addr: try Self.bytes(n, "Addr"), port: try u16(n, "Port"),
                                           meta: try Self.bytes(n, "Meta"), incarnation: try u32(n, "Incarnation"),
                                           state: state, vsn: try Self.bytes(n, "Vsn")))
            }
            guard bytes.count - offset >= Int(userLength) else { throw GossipWireError(.truncated, "push-pull user state") }
            let user = Array(bytes[offset..<(offset + Int(userLength))])
            return .pushPull(PushPullMessage(join: join, nodes: nodes, userState: user))
        case .user:
            let (header, used) = try MessagePack.decode(bytes, from: 1, limits: limits.msgpack)
            guard let length = header["UserMsgLen"]?.unsignedValue, length <= UInt64(limits.maxStream) else {
                throw GossipWireError(.badValue, "user message length")
            }
            let offset = 1 + used
            guard bytes.count - offset >= Int(length) else { throw GossipWireError(.truncated, "user message") }
            return .user(Array(bytes[offset..<(offset + Int(length))]))
        case .ping, .ack, .nack, .err:
            let (body, _) = try MessagePack.decode(bytes, from: 1, limits: limits.msgpack)
            return try message(type, body)
        default:
            throw GossipWireError(.unsupportedMessage, "\(type) on a stream")
        }
    }

    /// The payload of a msgpack `compress{Algo, Buf}` body, and the bytes the body took.
    static func decompress(_ body: [UInt8], limits: Limits) throws -> (payload: [UInt8], consumed: Int) {
        let (value, used) = try MessagePack.decode(body, limits: limits.msgpack)
        guard case .map = value else { throw GossipWireError(.badValue, "compress body is not a map") }
        let algo = try u32(value, "Algo", required: false)
        guard algo == 0 else { throw GossipWireError(.badCompression, "algorithm \(algo)") }
        let buf = try Self.bytes(value, "Buf")
        return (try LZWDecoder.decompress(buf, limit: limits.maxDecompressed), used)
    }

    // MARK: Fields

    static func u32(_ body: MessagePackValue, _ key: String, required: Bool = true) throws -> UInt32 {
        guard let v = body[key], v != .null else {
            if required { throw GossipWireError(.missingField, key) }
            return 0
        }
        guard let u = v.unsignedValue, u <= UInt64(UInt32.max) else { throw GossipWireError(.badValue, "\(key) is not a uint32") }
        return UInt32(u)
    }

    static func u16(_ body: MessagePackValue, _ key: String, required: Bool = true) throws -> UInt16 {
        let v = try u32(body, key, required: required)
        guard v <= UInt32(UInt16.max) else { throw GossipWireError(.badValue, "\(key) is not a uint16") }
        return UInt16(v)
    }

    static func string(_ body: MessagePackValue, _ key: String, required: Bool = true) throws -> String {
        guard let v = body[key] else {
            if required { throw GossipWireError(.missingField, key) }
            return ""
        }
        guard let s = v.stringValue else { throw GossipWireError(.badValue, "\(key) is not a string") }
        return s
    }

    static func bytes(_ body: MessagePackValue, _ key: String) throws -> [UInt8] {
        guard let v = body[key] else { return [] }
        guard let b = v.bytesValue else { throw GossipWireError(.badValue, "\(key) is not bytes") }
        return b
    }

    static func bool(_ body: MessagePackValue, _ key: String) throws -> Bool {
        guard let v = body[key] else { return false }
        guard let b = v.boolValue else { throw GossipWireError(.badValue, "\(key) is not a bool") }
        return b
    }
}
