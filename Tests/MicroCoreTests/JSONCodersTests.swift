import Foundation
@testable import MicroCore
import NIOCore
import Testing

// The framework's JSON coders against Foundation's: the same bytes out, the same values in, the same
// kinds of errors, and malformed text refused without a crash.

private struct Address: Codable, Equatable { var street: String; var zip: Int32; var tags: [String] }
private enum Color: String, Codable, Equatable { case red, green }
private enum Shape: Codable, Equatable { case circle(radius: Double), square(Int), empty }
private struct Everything: Codable, Equatable {
    var s: String
    var b: Bool
    var i: Int, i8: Int8, i16: Int16, i32: Int32, i64: Int64
    var u: UInt, u8: UInt8, u16: UInt16, u32: UInt32, u64: UInt64
    var d: Double, f: Float
    var opt: String?
    var optSet: Int?
    var list: [Int]
    var nested: [[Address]]
    var map: [String: Int]
    var color: Color
    var shapes: [Shape]
    var data: Data
    var url: URL
    var date: Date
    var decimal: Decimal
}

private class Base: Codable {
    var id: Int
    init(id: Int) { self.id = id }
}

private final class Derived: Base, @unchecked Sendable {
    var name: String
    init(id: Int, name: String) { self.name = name; super.init(id: id) }
    private enum CodingKeys: String, CodingKey { case name }
    required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        try super.init(from: c.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try super.encode(to: c.superEncoder())
    }
}

/// Writes nothing at all (Foundation writes `{}` for it).
private struct Silent: Codable, Equatable {
    init() {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}

/// Builds its JSON with nested containers, returning to the outer one afterwards.
private struct Nested: Codable, Equatable {
    var a: Int, b: [Int], c: String
    enum K: String, CodingKey { case a, inner, list, c }
    enum I: String, CodingKey { case a }
    init(a: Int, b: [Int], c: String) { self.a = a; self.b = b; self.c = c }
    init(from decoder: any Decoder) throws {
        let k = try decoder.container(keyedBy: K.self)
        a = try k.nestedContainer(keyedBy: I.self, forKey: .inner).decode(Int.self, forKey: .a)
        var l = try k.nestedUnkeyedContainer(forKey: .list)
        var b: [Int] = []
        while !l.isAtEnd { b.append(try l.decode(Int.self)) }
        self.b = b
        c = try k.decode(String.self, forKey: .c)
    }
    func encode(to encoder: any Encoder) throws {
        var k = encoder.container(keyedBy: K.self)
        var inner = k.nestedContainer(keyedBy: I.self, forKey: .inner)
        try inner.encode(a, forKey: .a)
        var l = k.nestedUnkeyedContainer(forKey: .list)
        for x in b { try l.encode(x) }
        try k.encode(c, forKey: .c)
    }
}

/// Any JSON value, decoded through the generic container calls (for comparing decoders on arbitrary text).
private indirect enum AnyJSON: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([AnyJSON]), object([String: AnyJSON])
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    init(from decoder: any Decoder) throws {
        if let o = try? decoder.container(keyedBy: Key.self) {
            var d: [String: AnyJSON] = [:]
            for k in o.allKeys where d[k.stringValue] == nil { d[k.stringValue] = try o.decode(AnyJSON.self, forKey: k) }
            self = .object(d)
        } else if var a = try? decoder.unkeyedContainer() {
            var list: [AnyJSON] = []
            while !a.isAtEnd { list.append(try a.decode(AnyJSON.self)) }
            self = .array(list)
        } else {
            let s = try decoder.singleValueContainer()
            if s.decodeNil() { self = .null }
            else if let b = try? s.decode(Bool.self) { self = .bool(b) }
            else if let n = try? s.decode(Double.self) { self = .number(n) }
            else { self = .string(try s.decode(String.self)) }
        }
    }
}

@Suite struct JSONCodersTests {
    static func foundation<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func ours<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONStreamEncoding.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONTapeDecoding.decode(type, from: Array(text.utf8))
    }

    fileprivate static let everything = Everything(
        s: "tab\there \"quoted\" back\\slash / é 😀 \u{1}\u{1F}\u{7F}\u{2028}", b: true,
        i: Int.min, i8: Int8.min, i16: -300, i32: Int32.max, i64: Int64.max,
        u: UInt.max, u8: 255, u16: 0, u32: 4_000_000_000, u64: UInt64.max,
        d: 0.1, f: 1.5, opt: nil, optSet: 0, list: [1, -2, 3],
        nested: [[Address(street: "Main", zip: 1, tags: [])], []], map: ["only": 1], color: .green,
        shapes: [.circle(radius: 2.5), .square(3), .empty],
        data: Data([0, 1, 2, 250, 255]), url: URL(string: "http://example.com/a?b=c")!,
        date: Date(timeIntervalSinceReferenceDate: 12.5), decimal: Decimal(string: "12.345")!)

    /// The same JSON value as Foundation's output (Foundation orders an object's members at random).
    static func same<T: Encodable>(_ value: T) throws -> Bool {
        let read = { (text: String) in try JSONDecoder().decode(AnyJSON.self, from: Data(text.utf8)) }
        return try read(Self.ours(value)) == read(Self.foundation(value))
    }

    @Test func writesWhatFoundationWrites() throws {
        #expect(try Self.same(Self.everything))
        // Members in the order they are encoded (a struct's declaration order), as Go writes them.
        #expect(try Self.ours(Address(street: "Main", zip: 1, tags: ["t"])) == #"{"street":"Main","zip":1,"tags":["t"]}"#)
        for d in [1.0, 0.5, 1e20, 1.5e-7, 1.2345678901234568e20, -0.0, Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude, 100, 1e16, 12345.678, -3] {
            #expect(try Self.ours([d]) == Self.foundation([d]), "\(d)")
        }
        for f: Float in [0.1, 1, 3.4e38, 1e-7, -2.5] { #expect(try Self.ours([f]) == Self.foundation([f]), "\(f)") }
        let values: [String] = ["", "plain", "\u{0}\u{8}\u{C}\n\r\t\u{B}", "\\\"", "ünïcødé 日本 🇨🇭"]
        #expect(try Self.ours(values) == Self.foundation(values))
        #expect(try Self.ours(Derived(id: 7, name: "d")) == #"{"name":"d","super":{"id":7}}"#)
        #expect(try Self.same(Derived(id: 7, name: "d")))
        #expect(try Self.ours(["k": Silent()]) == Self.foundation(["k": Silent()]))
        #expect(try Self.ours([Silent(), Silent()]) == Self.foundation([Silent(), Silent()]))
        #expect(try Self.ours(Nested(a: 1, b: [2, 3], c: "x")) == #"{"inner":{"a":1},"list":[2,3],"c":"x"}"#)
        #expect(try Self.ours("top") == Self.foundation("top"))
        #expect(try Self.ours(42) == Self.foundation(42))
        #expect(try Self.ours([Int?.none, 1]) == Self.foundation([Int?.none, 1]))
    }

    @Test func readsWhatFoundationReads() throws {
        let text = try Self.foundation(Self.everything)
        #expect(try Self.decode(Everything.self, text) == Self.everything)
        let derived = try Self.decode(Derived.self, #"{"name":"n","super":{"id":3}}"#)
        #expect(derived.name == "n" && derived.id == 3)
        #expect(try Self.decode(Nested.self, #" { "c" : "z" , "list" : [ 4 , 5 ] , "inner" : { "a" : 9 } } "#) == Nested(a: 9, b: [4, 5], c: "z"))
        #expect(try Self.decode([String].self, #"["\u00e9\ud83d\ude00\n\/\"","\b\f\r\t"]"#) == ["é😀\n/\"", "\u{8}\u{C}\r\t"])
        #expect(try Self.decode(Address.self, #"{"street":"s","zip":1.0,"tags":[],"extra":{"deep":[1,{"x":null}]}}"#)
                == Address(street: "s", zip: 1, tags: []))
        #expect(try Self.decode(Int.self, "1e2") == 100)
        #expect(try Self.decode(Double.self, "2E1") == 20, "RFC 8259 allows E (Foundation refuses it)")
        #expect(try Self.decode(UInt8.self, "-0") == 0)
        #expect(try Self.decode(Int64.self, "-9223372036854775808") == Int64.min)
        #expect(try Self.decode(Double.self, "-12.5e-1") == -1.25)
        #expect(try Self.decode(Double.self, "12345678901234567890") == 1.2345678901234567e19)
        #expect(try Self.decode([String: Int].self, #"{"a":1,"a":2}"#) == ["a": 1], "the first of a repeated key counts, as in Foundation")
        #expect(try Self.decode(Address.self, #"{"street":"one","street":"two","zip":1,"tags":[]}"#).street == "one")
        #expect(try Self.decode(Silent.self, "{}") == Silent())
        // A large object gets a lookup table; lookups agree with the linear scan.
        var big: [String: Int] = [:]
        for n in 0..<200 { big["k\(n)"] = n }
        #expect(try Self.decode([String: Int].self, try Self.foundation(big)) == big)
        #expect(try Self.decode([String: Int].self, #"{"k\u0031":1}"#) == ["k1": 1], "escaped keys compare by their text")
    }

    @Test func errorsNameWhatFoundationNames() throws {
        struct S: Decodable { var a: Int; var inner: [Address] }
        let cases: [String] = [
            #"{"inner":[]}"#,                                                      // missing a
            #"{"a":"x","inner":[]}"#,                                              // type mismatch
            #"{"a":null,"inner":[]}"#,                                             // null
            #"{"a":1,"inner":[{"street":"s","zip":1,"tags":[]},{"street":1}]}"#,  // nested mismatch
            #"{"a":1,"inner":[{"street":"s","zip":99999999999,"tags":[]}]}"#,     // does not fit
            #"{"a":1.5,"inner":[]}"#,                                              // not an integer
            #"[1]"#,                                                               // not an object
        ]
        for text in cases {
            let theirs = #expect(throws: DecodingError.self) { try JSONDecoder().decode(S.self, from: Data(text.utf8)) }
            let mine = #expect(throws: DecodingError.self) { try Self.decode(S.self, text) }
            guard let theirs, let mine else { continue }
            #expect(Self.kind(mine) == Self.kind(theirs), "\(text): \(mine) vs \(theirs)")
            // Foundation leaves the path out of its number errors; ours names the member.
            if Self.kind(theirs) != "dataCorrupted" { #expect(Self.path(mine) == Self.path(theirs), "\(text): \(mine) vs \(theirs)") }
        }
    }

    static func kind(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound: return "keyNotFound"
        case .typeMismatch: return "typeMismatch"
        case .valueNotFound: return "valueNotFound"
        case .dataCorrupted: return "dataCorrupted"
        @unknown default: return "other"
        }
    }

    static func path(_ e: DecodingError) -> [String] {
        let context: DecodingError.Context
        switch e {
        case .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
        @unknown default: return []
        }
        return context.codingPath.map { $0.intValue.map { "\($0)" } ?? $0.stringValue }
    }

    @Test func malformedTextIsRefused() throws {
        let bad: [[UInt8]] = [
            "", " ", "{", "}", "[", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{a:1}", "{\"a\":}", "01", "1.", ".5", "-", "+1", "1e", "1e+",
            "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"open", "nul", "tru", "falsey",
            "NaN", "Infinity", "1 2", "{} {}", "[1]]", "\"a\"\"b\"", "'single'",
        ].map { Array($0.utf8) } + [
            [0x22, 0x01, 0x22],               // a raw control character in a string
            [0x22, 0xFF, 0x22],               // not UTF-8
            [0x22, 0xC0, 0xAF, 0x22],         // overlong
            [0x22, 0xED, 0xA0, 0x80, 0x22],   // an encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],   // past U+10FFFF
            [0x22, 0xE2, 0x82, 0x22],         // cut short
        ]
        for text in bad {
            #expect(throws: DecodingError.self, "\(String(decoding: text, as: UTF8.self))") { try JSONTapeDecoding.decode(AnyJSON.self, from: text) }
        }
        // Nesting is bounded: deep enough is fine, deeper is an error rather than a crash.
        let ok = String(repeating: "[", count: JSONTape.maxDepth) + String(repeating: "]", count: JSONTape.maxDepth)
        #expect(throws: Never.self) { try Self.decode(AnyJSON.self, ok) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: DecodingError.self) { try Self.decode(AnyJSON.self, deep) }
        #expect(throws: DecodingError.self) { try Self.decode(Double.self, "1e400") }
        #expect(throws: DecodingError.self) { try Self.decode(UInt8.self, "256") }
        #expect(throws: DecodingError.self) { try Self.decode(Int.self, "1.5") }
        #expect(throws: DecodingError.self) { try Self.decode(Data.self, "\"not base64!\"") }
    }

    /// Random damage to valid documents: never a crash, and whatever is accepted Foundation accepts
    /// too and reads the same way.
    @Test func damagedDocumentsNeverCrash() throws {
        var rng = SplitMix(seed: 0x5EED)
        let seeds = try [Self.ours(Self.everything), #"{"a":[1,2.5,-3e2,{"b":null,"c":[true,false]}],"d":"\u00e9\n"}"#, "[[[]],{}]"]
        // No `E`: Foundation refuses `1E2`, which RFC 8259 allows (checked above).
        let alphabet = Array(#"{}[],:"\/ub0123456789.-+e tfn"#.utf8) + [0x00, 0x7F, 0xC3, 0xA9, 0xFF]
        var accepted = 0
        for round in 0..<6_000 {
            var bytes = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(bytes.count + 1))
                switch rng.next() % 3 {
                case 0: if at < bytes.count { bytes.remove(at: at) }
                case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: if at < bytes.count { bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                }
            }
            guard let mine = try? JSONTapeDecoding.decode(AnyJSON.self, from: bytes) else { continue }
            accepted += 1
            let theirs = try? JSONDecoder().decode(AnyJSON.self, from: Data(bytes))
            #expect(theirs == mine, "\(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(accepted > 100, "the mutations should leave some documents valid")
    }

    @Test func misusedContainersAreAnErrorNotWrongJSON() throws {
        struct Misuse: Encodable {
            enum K: CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: K.self)
                var inner = outer.nestedContainer(keyedBy: K.self, forKey: .a)
                try outer.encode(1, forKey: .b)
                try inner.encode(2, forKey: .b)   // its parent moved on: JSON cannot go back
            }
        }
        #expect(throws: EncodingError.self) { try JSONStreamEncoding.encode(Misuse()) }
        #expect(throws: EncodingError.self) { try JSONStreamEncoding.encode(Silent()) }
        #expect(throws: EncodingError.self) { try JSONStreamEncoding.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONStreamEncoding.encode(["x": Float.infinity]) }
    }

    @Test func codecUsesThem() throws {
        let codec = JSONCodec()
        let buffer = try codec.encodeValue(Self.everything)
        #expect(String(buffer: buffer) == (try Self.ours(Self.everything)))
        #expect(try codec.decodeValue(Everything.self, from: buffer) == Self.everything)
        #expect(try codec.decode(Everything.self, from: buffer) == Self.everything)
        #expect(String(buffer: try codec.encode(Self.everything)) == String(buffer: buffer))
        let error = #expect(throws: CodecError.self) { try codec.decodeValue(Address.self, from: ByteBuffer(string: #"{"street":1}"#)) }
        #expect(error?.reason == "malformed Address JSON: expected String at street")
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
