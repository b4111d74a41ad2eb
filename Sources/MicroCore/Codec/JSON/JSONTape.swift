/// A JSON document checked and indexed in one pass: every value becomes an entry of a flat tape (a
/// container's members follow it, an object's as key, value, key, value), so decoding reads values by
/// index without building strings, arrays or dictionaries it does not need.
///
/// The whole text is validated before any value is read (grammar, string escapes, UTF-8, nesting at
/// most ``maxDepth``), so a malformed document fails at once with a ``JSONSyntaxError`` naming the
/// byte offset. The package's other JSON readers (the gRPC transcoder) parse with it too.
package final class JSONTape {
    /// One value in the document.
    package struct Entry {
        package enum Kind: UInt8 { case object, array, string, number, `true`, `false`, null }
        package var kind: Kind
        /// Strings: bit 0 when it has escapes, bit 1 when it has non-ASCII bytes. Numbers: bit 0 when
        /// it has a fraction or an exponent.
        var flags: UInt8
        /// Strings: the first byte after the opening quote; numbers: the first byte.
        var start: Int32
        /// Strings: the closing quote; numbers: one past the last byte.
        var end: Int32
        /// The tape index after this value (after a container's last member).
        package var next: Int32
        /// Containers: how many members (an object's key-value pairs count once).
        package var count: Int32

        var isEscaped: Bool { flags & 1 != 0 }
        var isASCII: Bool { flags & 2 == 0 }
        var isInteger: Bool { flags & 1 == 0 }
    }

    /// Nesting deeper than this is refused by default (each level is a frame of the parser).
    package static let maxDepth = 256

    let bytes: [UInt8]
    package private(set) var entries: [Entry] = []

    /// Parses `bytes`; throws ``JSONSyntaxError`` unless they are exactly one JSON value (and whitespace)
    /// with containers nested at most `maxDepth` deep.
    package init(_ bytes: [UInt8], maxDepth: Int = JSONTape.maxDepth) throws(JSONSyntaxError) {
        self.bytes = bytes
        entries.reserveCapacity(min(max(8, bytes.count / 8), 4096))   // grows past that as needed
        let count = bytes.count
        try bytes.withUnsafeBufferPointer { (p: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) in
            var parser = Parser(p: p, count: count, maxDepth: maxDepth)
            parser.skipSpace()
            try parser.value(depth: 0, into: &entries)
            parser.skipSpace()
            guard parser.i == count else { throw parser.error("unexpected text after the JSON value") }
        }
    }

    private struct Parser {
        let p: UnsafeBufferPointer<UInt8>
        let count: Int
        let maxDepth: Int
        var i = 0

        init(p: UnsafeBufferPointer<UInt8>, count: Int, maxDepth: Int) {
            self.p = p
            self.count = count
            self.maxDepth = maxDepth
        }

        func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(.malformed, offset: i, reason: reason) }

        func tooDeep() -> JSONSyntaxError { JSONSyntaxError(.tooDeep, offset: i, reason: "nested deeper than \(maxDepth) levels") }

        mutating func skipSpace() {
            while i < count {
                let c = p[i]
                guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
                i += 1
            }
        }

        mutating func value(depth: Int, into entries: inout [Entry]) throws(JSONSyntaxError) {
            guard i < count else { throw error("unexpected end of the JSON text") }
            switch p[i] {
            case UInt8(ascii: "{"): try object(depth: depth, into: &entries)
            case UInt8(ascii: "["): try array(depth: depth, into: &entries)
            case UInt8(ascii: "\""): try string(into: &entries)
            case UInt8(ascii: "t"): try literal("true", .true, into: &entries)
            case UInt8(ascii: "f"): try literal("false", .false, into: &entries)
            case UInt8(ascii: "n"): try literal("null", .null, into: &entries)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number(into: &entries)
            default: throw error("unexpected character '\(Unicode.Scalar(p[i]))'")
            }
        }

        mutating func literal(_ word: StaticString, _ kind: Entry.Kind, into entries: inout [Entry]) throws(JSONSyntaxError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= count else { throw error("unexpected end of the JSON text") }
            let w = word.utf8Start
            for k in 0..<n where p[i + k] != w[k] { throw error("invalid literal") }
            entries.append(Entry(kind: kind, flags: 0, start: Int32(i), end: Int32(i + n), next: Int32(entries.count + 1), count: 0))
            i += n
        }

        mutating func number(into entries: inout [Entry]) throws(JSONSyntaxError) {
            let start = i
            var flags: UInt8 = 0
            if p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < count, isDigit(p[i]) else { throw error("invalid number") }
            if p[i] == UInt8(ascii: "0") {
                i += 1
            } else {
                while i < count, isDigit(p[i]) { i += 1 }
            }
            if i < count, p[i] == UInt8(ascii: ".") {
                flags = 1
                i += 1
                guard i < count, isDigit(p[i]) else { throw error("invalid number: no digit after the point") }
                while i < count, isDigit(p[i]) { i += 1 }
            }
            if i < count, p[i] | 0x20 == UInt8(ascii: "e") {
                flags = 1
                i += 1
                if i < count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
                guard i < count, isDigit(p[i]) else { throw error("invalid number: no digit in the exponent") }
                while i < count, isDigit(p[i]) { i += 1 }
            }
            entries.append(Entry(kind: .number, flags: flags, start: Int32(start), end: Int32(i), next: Int32(entries.count + 1), count: 0))
        }

        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

        mutating func string(into entries: inout [Entry]) throws(JSONSyntaxError) {
            i += 1   // the opening quote
            let start = i
            var flags: UInt8 = 0
            while true {
                guard i < count else { throw error("unterminated string") }
                let c = p[i]
                if c == UInt8(ascii: "\"") { break }
                if c == UInt8(ascii: "\\") {
                    flags |= 1
                    i += 1
                    guard i < count else { throw error("unterminated string") }
                    switch p[i] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 1
                    case UInt8(ascii: "u"):
                        i += 1
                        let unit = try hex4()
                        if (0xD800..<0xDC00).contains(unit) {
                            guard i + 1 < count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else {
                                throw error("unpaired surrogate in a \\u escape")
                            }
                            i += 2
                            guard (0xDC00..<0xE000).contains(try hex4()) else { throw error("unpaired surrogate in a \\u escape") }
                        } else if (0xDC00..<0xE000).contains(unit) {
                            throw error("unpaired surrogate in a \\u escape")
                        }
                    default:
                        throw error("invalid escape")
                    }
                } else if c < 0x20 {
                    throw error("control character in a string")
                } else if c < 0x80 {
                    i += 1
                } else {
                    flags |= 2
                    try utf8Sequence()
                }
            }
            entries.append(Entry(kind: .string, flags: flags, start: Int32(start), end: Int32(i), next: Int32(entries.count + 1), count: 0))
            i += 1   // the closing quote
        }

        /// Four hex digits of a `\u` escape.
        mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            guard i + 4 <= count else { throw error("unterminated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = p[i]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: throw error("invalid \\u escape")
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }

        /// One multi-byte UTF-8 sequence starting at `i` (RFC 3629: no overlongs, surrogates or values past U+10FFFF).
        mutating func utf8Sequence() throws(JSONSyntaxError) {
            let c = p[i]
            let n: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: n = 1
            case 0xE0: n = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: n = 2
            case 0xED: n = 2; high = 0x9F
            case 0xF0: n = 3; low = 0x90
            case 0xF1...0xF3: n = 3
            case 0xF4: n = 3; high = 0x8F
            default: throw error("invalid UTF-8")
            }
            guard i + n < count else { throw error("invalid UTF-8") }
            guard p[i + 1] >= low, p[i + 1] <= high else { throw error("invalid UTF-8") }
            var k = 2
            while k <= n {
                guard p[i + k] & 0xC0 == 0x80 else { throw error("invalid UTF-8") }
                k += 1
            }
            i += n + 1
        }

        mutating func object(depth: Int, into entries: inout [Entry]) throws(JSONSyntaxError) {
            guard depth < maxDepth else { throw tooDeep() }
            let at = entries.count
            entries.append(Entry(kind: .object, flags: 0, start: Int32(i), end: 0, next: 0, count: 0))
            i += 1
            skipSpace()
            var members: Int32 = 0
            if i < count, p[i] == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    guard i < count, p[i] == UInt8(ascii: "\"") else { throw error("expected a key string") }
                    try string(into: &entries)
                    skipSpace()
                    guard i < count, p[i] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
                    i += 1
                    skipSpace()
                    try value(depth: depth + 1, into: &entries)
                    members += 1
                    skipSpace()
                    guard i < count else { throw error("unterminated object") }
                    if p[i] == UInt8(ascii: ",") { i += 1; skipSpace(); continue }
                    if p[i] == UInt8(ascii: "}") { i += 1; break }
                    throw error("expected ',' or '}' in an object")
                }
            }
            entries[at].end = Int32(i)
            entries[at].next = Int32(entries.count)
            entries[at].count = members
        }

        mutating func array(depth: Int, into entries: inout [Entry]) throws(JSONSyntaxError) {
            guard depth < maxDepth else { throw tooDeep() }
            let at = entries.count
            entries.append(Entry(kind: .array, flags: 0, start: Int32(i), end: 0, next: 0, count: 0))
            i += 1
            skipSpace()
            var elements: Int32 = 0
            if i < count, p[i] == UInt8(ascii: "]") {
                i += 1
            } else {
                while true {
                    try value(depth: depth + 1, into: &entries)
                    elements += 1
                    skipSpace()
                    guard i < count else { throw error("unterminated array") }
                    if p[i] == UInt8(ascii: ",") { i += 1; skipSpace(); continue }
                    if p[i] == UInt8(ascii: "]") { i += 1; break }
                    throw error("expected ',' or ']' in an array")
                }
            }
            entries[at].end = Int32(i)
            entries[at].next = Int32(entries.count)
            entries[at].count = elements
        }
    }

    // MARK: Reading values

    /// The string at entry `index` (which must be a string), escapes resolved.
    package func string(at index: Int) -> String {
        let e = entries[index]
        return bytes.withUnsafeBufferPointer { p in
            let slice = UnsafeBufferPointer(rebasing: p[Int(e.start)..<Int(e.end)])
            guard e.isEscaped else { return String(decoding: slice, as: UTF8.self) }
            return Self.unescape(slice)
        }
    }

    /// Whether the string at entry `index` equals `text` (keys: compared as bytes unless escaped).
    func string(at index: Int, equals text: String) -> Bool {
        let e = entries[index]
        if e.isEscaped { return string(at: index) == text }
        let length = Int(e.end - e.start)
        var text = text
        return text.withUTF8 { t in
            guard t.count == length else { return false }
            return bytes.withUnsafeBufferPointer { p in
                UnsafeBufferPointer(rebasing: p[Int(e.start)..<Int(e.end)]).elementsEqual(t)
            }
        }
    }

    /// The text of the number at entry `index`.
    package func numberText(at index: Int) -> Substring {
        let e = entries[index]
        return bytes.withUnsafeBufferPointer { p in
            Substring(String(decoding: UnsafeBufferPointer(rebasing: p[Int(e.start)..<Int(e.end)]), as: UTF8.self))
        }
    }

    /// The integer at number entry `index` when it is written without fraction or exponent and fits in an Int64 or UInt64.
    func integer(at index: Int) -> (negative: Bool, magnitude: UInt64)? {
        let e = entries[index]
        guard e.isInteger else { return nil }
        return bytes.withUnsafeBufferPointer { p in
            var i = Int(e.start)
            let end = Int(e.end)
            let negative = p[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            var v: UInt64 = 0
            while i < end {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(p[i] &- UInt8(ascii: "0")))
                if o1 || o2 { return nil }
                v = a
                i += 1
            }
            return (negative, v)
        }
    }

    /// Resolves the escapes of a validated string body.
    private static func unescape(_ s: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        func hex(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = s[at + k]
                v = v << 4 | UInt32(c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : (c | 0x20) - UInt8(ascii: "a") + 10)
            }
            return v
        }
        while i < s.count {
            let c = s[i]
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            let e = s[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex(i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar) {   // validated: a low surrogate escape follows
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex(i + 2) - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default: out.append(e)   // " \ /
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Why a JSON text could not be parsed: what was wrong, and at which byte.
package struct JSONSyntaxError: Error, CustomStringConvertible {
    package enum Code: Sendable { case malformed, tooDeep }
    package var code: Code
    /// The byte offset where parsing stopped.
    package var offset: Int
    /// What was wrong there.
    package var reason: String

    init(_ code: Code, offset: Int, reason: String) {
        self.code = code
        self.offset = offset
        self.reason = reason
    }

    package var description: String { "\(reason) at byte \(offset)" }
}
