/// The msgpack subset memberlist speaks, written the way go-msgpack's default handle writes it
/// (old-spec "raw" for strings and bytes, smallest integer forms) and read leniently (str8, bin,
/// signed forms, floats, ext all accepted), with every read bounded.
package enum MessagePack {
    /// Bounds for decoding untrusted bytes.
    package struct Limits: Sendable, Hashable {
        /// The deepest nesting of arrays and maps.
        package var maxDepth: Int
        /// The most elements in one array or pairs in one map.
        package var maxCount: Int
        /// The longest string or byte array.
        package var maxBytes: Int

        /// Creates limits.
        package init(maxDepth: Int = 16, maxCount: Int = 1 << 20, maxBytes: Int = 32 << 20) {
            self.maxDepth = maxDepth
            self.maxCount = maxCount
            self.maxBytes = maxBytes
        }
    }

    // MARK: Encoding

    /// Appends `value` to `out`.
    package static func encode(_ value: MessagePackValue, into out: inout [UInt8]) throws {
        switch value {
        case .null: out.append(0xc0)
        case .bool(let b): out.append(b ? 0xc3 : 0xc2)
        case .uint(let u): encodeUInt(u, into: &out)
        case .int(let i):
            if i >= 0 { encodeUInt(UInt64(i), into: &out) } else if i >= -32 { out.append(UInt8(bitPattern: Int8(i))) } else if i >= Int64(Int8.min) {
                out.append(0xd0); out.append(UInt8(bitPattern: Int8(i)))
            } else if i >= Int64(Int16.min) {
                out.append(0xd1); appendBE(UInt64(UInt16(bitPattern: Int16(i))), 2, &out)
            } else if i >= Int64(Int32.min) {
                out.append(0xd2); appendBE(UInt64(UInt32(bitPattern: Int32(i))), 4, &out)
            } else {
                out.append(0xd3); appendBE(UInt64(bitPattern: i), 8, &out)
            }
        case .float(let d):
            out.append(0xcb); appendBE(d.bitPattern, 8, &out)
        case .raw(let bytes):
            let n = bytes.count
            if n < 32 { out.append(0xa0 | UInt8(n)) } else if n <= 0xffff { out.append(0xda); appendBE(UInt64(n), 2, &out) } else if n <= 0xffff_ffff {
                out.append(0xdb); appendBE(UInt64(n), 4, &out)
            } else { throw GossipWireError(.unencodable, "raw of \(n) bytes") }
            out.append(contentsOf: bytes)
        case .array(let items):
            try header(items.count, fix: 0x90, u16: 0xdc, u32: 0xdd, into: &out)
            for item in items { try encode(item, into: &out) }
        case .map(let pairs):
            try header(pairs.count, fix: 0x80, u16: 0xde, u32: 0xdf, into: &out)
            for pair in pairs {
                try encode(pair.key, into: &out)
                try encode(pair.value, into: &out)
            }
        case .ext(let type, let data):
            out.append(0xc9); appendBE(UInt64(data.count), 4, &out); out.append(UInt8(bitPattern: type)); out.append(contentsOf: data)
        }
    }

    /// `value` encoded on its own.
    package static func encode(_ value: MessagePackValue) throws -> [UInt8] {
        var out: [UInt8] = []
        try encode(value, into: &out)
        return out
    }

    private static func header(_ n: Int, fix: UInt8, u16: UInt8, u32: UInt8, into out: inout [UInt8]) throws {
        if n < 16 { out.append(fix | UInt8(n)) } else if n <= 0xffff { out.append(u16); appendBE(UInt64(n), 2, &out) } else if n <= 0xffff_ffff {
            out.append(u32); appendBE(UInt64(n), 4, &out)
        } else { throw GossipWireError(.unencodable, "container of \(n) items") }
    }

    private static func encodeUInt(_ u: UInt64, into out: inout [UInt8]) {
        if u < 128 { out.append(UInt8(u)) } else if u <= 0xff { out.append(0xcc); out.append(UInt8(u)) } else if u <= 0xffff {
            out.append(0xcd); appendBE(u, 2, &out)
        } else if u <= 0xffff_ffff { out.append(0xce); appendBE(u, 4, &out) } else { out.append(0xcf); appendBE(u, 8, &out) }
    }

    static func appendBE(_ v: UInt64, _ bytes: Int, _ out: inout [UInt8]) {
        for i in stride(from: bytes - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) }
    }

    // MARK: Decoding

    /// Decodes one value from the start of `bytes`; returns it and how many bytes it took.
    package static func decode(_ bytes: [UInt8], from offset: Int = 0, limits: Limits = Limits()) throws -> (value: MessagePackValue, consumed: Int) {
        var reader = Reader(bytes: bytes, index: offset, limits: limits)
        let value = try reader.value(depth: 0)
        return (value, reader.index - offset)
    }

    /// A cursor over bytes that reads msgpack values.
    struct Reader {
        let bytes: [UInt8]
        var index: Int
        let limits: Limits

        mutating func byte() throws -> UInt8 {
            guard index < bytes.count else { throw GossipWireError(.truncated, "msgpack value at \(index)") }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func bigEndian(_ n: Int) throws -> UInt64 {
            guard bytes.count - index >= n else { throw GossipWireError(.truncated, "msgpack number at \(index)") }
            var v: UInt64 = 0
            for i in 0..<n { v = v << 8 | UInt64(bytes[index + i]) }
            index += n
            return v
        }

        mutating func take(_ n: Int) throws -> [UInt8] {
            guard n <= limits.maxBytes else { throw GossipWireError(.tooLarge, "\(n) bytes") }
            guard bytes.count - index >= n else { throw GossipWireError(.truncated, "\(n) bytes at \(index)") }
            defer { index += n }
            return Array(bytes[index..<(index + n)])
        }

        func count(_ n: UInt64, perItem: Int) throws -> Int {
            guard n <= UInt64(limits.maxCount) else { throw GossipWireError(.tooLarge, "container of \(n) items") }
            let c = Int(n)
            // Every item takes at least one byte: a count beyond the input is truncated, not allocated.
            if c * perItem > bytes.count - index { throw GossipWireError(.truncated, "container of \(c) items at \(index)") }
            return c
        }

        mutating func value(depth: Int) throws -> MessagePackValue {
            let b = try byte()
            switch b {
            case 0x00...0x7f: return .uint(UInt64(b))
            case 0x80...0x8f: return try map(Int(b & 0x0f), depth: depth)
            case 0x90...0x9f: return try array(Int(b & 0x0f), depth: depth)
            case 0xa0...0xbf: return .raw(try take(Int(b & 0x1f)))
            case 0xc0: return .null
            case 0xc1: throw GossipWireError(.badValue, "byte 0xc1 at \(index - 1)")
            case 0xc2: return .bool(false)
            case 0xc3: return .bool(true)
            case 0xc4, 0xd9: return .raw(try take(Int(try bigEndian(1))))
            case 0xc5, 0xda: return .raw(try take(Int(try bigEndian(2))))
            case 0xc6, 0xdb: return .raw(try take(Int(try bigEndian(4))))
            case 0xc7, 0xc8, 0xc9:
                let n = Int(try bigEndian(b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4))
                let type = Int8(bitPattern: try byte())
                return .ext(type, try take(n))
            case 0xca: return .float(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
            case 0xcb: return .float(Double(bitPattern: try bigEndian(8)))
            case 0xcc: return .uint(try bigEndian(1))
            case 0xcd: return .uint(try bigEndian(2))
            case 0xce: return .uint(try bigEndian(4))
            case 0xcf: return .uint(try bigEndian(8))
            case 0xd0: return .int(Int64(Int8(truncatingIfNeeded: try bigEndian(1))))
            case 0xd1: return .int(Int64(Int16(truncatingIfNeeded: try bigEndian(2))))
            case 0xd2: return .int(Int64(Int32(truncatingIfNeeded: try bigEndian(4))))
            case 0xd3: return .int(Int64(bitPattern: try bigEndian(8)))
            case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
                let n = 1 << Int(b - 0xd4)
                let type = Int8(bitPattern: try byte())
                return .ext(type, try take(n))
            case 0xdc: return try array(try count(try bigEndian(2), perItem: 1), depth: depth)
            case 0xdd: return try array(try count(try bigEndian(4), perItem: 1), depth: depth)
            case 0xde: return try map(try count(try bigEndian(2), perItem: 2), depth: depth)
            case 0xdf: return try map(try count(try bigEndian(4), perItem: 2), depth: depth)
            default: return .int(Int64(Int8(bitPattern: b)))  // negative fixint 0xe0...0xff
            }
        }

        mutating func array(_ n: Int, depth: Int) throws -> MessagePackValue {
            guard depth < limits.maxDepth else { throw GossipWireError(.tooDeep, "at \(index)") }
            var items: [MessagePackValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(depth: depth + 1)) }
            return .array(items)
        }

        mutating func map(_ n: Int, depth: Int) throws -> MessagePackValue {
            guard depth < limits.maxDepth else { throw GossipWireError(.tooDeep, "at \(index)") }
            var pairs: [MessagePackPair] = []
            pairs.reserveCapacity(n)
            for _ in 0..<n {
                let k = try value(depth: depth + 1)
                let v = try value(depth: depth + 1)
                pairs.append(MessagePackPair(k, v))
            }
            return .map(pairs)
        }
    }
}
