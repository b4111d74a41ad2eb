import Foundation
import MicroCore
import NIOCore
import SwiftProtobuf
import Testing

struct Inner: Codable, Sendable, Equatable { var street: String; var zip: Int32 }
struct Outer: Codable, Sendable, Equatable {
    var name: String
    var count: Int
    var ratio: Double
    var tags: [String]
    var inner: Inner
    var note: String?
    var url: String
}

@Suite struct CodecTests {
    let sample = Outer(name: "Alice", count: 3, ratio: 0.5, tags: ["a", "b"], inner: Inner(street: "Main", zip: 12345), note: nil, url: "http://x/y")

    @Test func jsonCodableRoundTrip() throws {
        let codec = JSONCodec()
        #expect(codec.contentType == "application/json")
        let buffer = try codec.encode(sample)
        let text = String(buffer: buffer)
        #expect(text.contains(#""name":"Alice""#))
        #expect(text.contains(#""inner":{"#))
        #expect(text.contains("http://x/y"), "slashes must not be escaped")
        #expect(try codec.decode(Outer.self, from: buffer) == sample)
    }

    @Test func jsonDecodesGoStyleText() throws {
        let text = #"{"name":"Bob","count":7,"ratio":1.25,"tags":[],"inner":{"street":"S","zip":1},"url":"","extra":"ignored"}"#
        let v = try JSONCodec().decode(Outer.self, from: ByteBuffer(string: text))
        #expect(v.name == "Bob")
        #expect(v.count == 7)
        #expect(v.inner.zip == 1)
        #expect(v.note == nil)
    }

    struct Optionals: Codable, Equatable { var a: String?; var b: Int? }

    @Test func emptyJSONBodyIsAnEmptyObject() throws {
        #expect(try JSONCodec().decode(Optionals.self, from: ByteBuffer()) == Optionals(a: nil, b: nil))
        let error = #expect(throws: CodecError.self) { try JSONCodec().decode(Inner.self, from: ByteBuffer()) }
        #expect(error?.reason.contains("street") == true)
    }

    @Test func protobufWellKnownTypesThroughJSON() throws {
        let codec = JSONCodec()
        let s = Google_Protobuf_StringValue("hello")
        let encoded = try codec.encode(s)
        #expect(String(buffer: encoded) == #""hello""#)
        #expect(try codec.decode(Google_Protobuf_StringValue.self, from: encoded) == s)

        let st: Google_Protobuf_Struct = ["name": "Alice", "age": 30, "ok": true, "nested": Google_Protobuf_Value(structValue: ["k": "v"])]
        let sb = try codec.encode(st)
        let object = try jsonObject(sb)
        #expect(object["name"] as? String == "Alice")
        #expect(object["age"] as? Double == 30)
        #expect(object["ok"] as? Bool == true)
        #expect((object["nested"] as? [String: Any])?["k"] as? String == "v")
        #expect(try codec.decode(Google_Protobuf_Struct.self, from: sb) == st)
        let parsed = try codec.decode(Google_Protobuf_Struct.self, from: ByteBuffer(string: #"{"x": [1, "two", null]}"#))
        #expect(parsed.fields["x"]?.listValue.values.count == 3)
    }

    @Test func protobufBinary() throws {
        let codec = ProtobufCodec()
        #expect(codec.contentType == "application/protobuf")
        let s = Google_Protobuf_StringValue("hello")
        let encoded = try codec.encode(s)
        // field 1, wire type 2, length 5, "hello"
        #expect(Array(encoded.readableBytesView) == [0x0A, 0x05] + Array("hello".utf8))
        #expect(try codec.decode(Google_Protobuf_StringValue.self, from: encoded) == s)
        let st: Google_Protobuf_Struct = ["a": 1.5, "b": "x", "c": nil]
        #expect(try codec.decode(Google_Protobuf_Struct.self, from: try codec.encode(st)) == st)
        // An empty body is the default message.
        #expect(try codec.decode(Google_Protobuf_StringValue.self, from: ByteBuffer()) == Google_Protobuf_StringValue())
    }

    @Test func protobufCodecRejectsCodable() throws {
        let codec = ProtobufCodec()
        let enc = #expect(throws: CodecError.self) { try codec.encode(Inner(street: "s", zip: 1)) }
        #expect(enc?.contentType == "application/protobuf")
        #expect(throws: CodecError.self) { try codec.decode(Inner.self, from: ByteBuffer(string: "{}")) }
    }

    @Test(arguments: [JSONCodec() as any Codec, ProtobufCodec(), RawCodec()])
    func rawBytesPassThrough(codec: any Codec) throws {
        let bytes: [UInt8] = [0, 1, 2, 0xFF, 0x7B]
        let fromArray = try codec.encode(bytes)
        #expect(Array(fromArray.readableBytesView) == bytes)
        let fromBuffer = try codec.encode(ByteBuffer(bytes: bytes))
        #expect(Array(fromBuffer.readableBytesView) == bytes)
        #expect(try codec.decode([UInt8].self, from: ByteBuffer(bytes: bytes)) == bytes)
        #expect(try codec.decode(ByteBuffer.self, from: ByteBuffer(bytes: bytes)) == ByteBuffer(bytes: bytes))
    }

    @Test func rawCodecRejectsMessages() {
        let codec = RawCodec()
        #expect(codec.contentType == "application/octet-stream")
        #expect(throws: CodecError.self) { try codec.encode(Inner(street: "s", zip: 1)) }
        #expect(throws: CodecError.self) { try codec.decode(String.self, from: ByteBuffer(string: "x")) }
    }

    struct NotCodable: Sendable { var x = 1 }

    @Test func jsonRejectsNonCodable() {
        #expect(throws: CodecError.self) { try JSONCodec().encode(NotCodable()) }
        #expect(throws: CodecError.self) { try JSONCodec().decode(NotCodable.self, from: ByteBuffer(string: "{}")) }
    }

    @Test(arguments: [#"{"street":"#, "not json", #"{"street":"s","zip":"not a number"}"#, #"{"zip":1}"#, "[1]"])
    func malformedJSONIs400(text: String) throws {
        let error = #expect(throws: CodecError.self) { try JSONCodec().decode(Inner.self, from: ByteBuffer(string: text)) }
        let e = try #require(error)
        #expect(e.contentType == "application/json")
        #expect(e.microError.code == 400)
        #expect(e.microError.status == "Bad Request")
        #expect(e.microError.detail.contains("application/json"))
        #expect(MicroError.from(e, id: "svc").code == 400)
    }

    @Test func malformedJSONNamesTheField() throws {
        let error = #expect(throws: CodecError.self) {
            try JSONCodec().decode(Outer.self, from: ByteBuffer(string: #"{"name":"x","count":1,"ratio":1,"tags":[],"inner":{"street":"s","zip":"z"},"url":""}"#))
        }
        #expect(error?.reason.contains("inner.zip") == true)
    }

    @Test func malformedProtobufIs400() throws {
        let binary = #expect(throws: CodecError.self) {
            try ProtobufCodec().decode(Google_Protobuf_StringValue.self, from: ByteBuffer(bytes: [0x0A, 0x10, 0x41]))  // length past the end
        }
        #expect(binary?.microError.code == 400)
        let json = #expect(throws: CodecError.self) {
            try JSONCodec().decode(Google_Protobuf_StringValue.self, from: ByteBuffer(string: "{not json"))
        }
        #expect(json?.microError.code == 400)
        #expect(json?.microError.detail.contains("StringValue") == true)
    }

    @Test func codecsLookup() throws {
        let codecs = Codecs.standard
        #expect(try codecs.codec(for: "application/json").contentType == "application/json")
        #expect(try codecs.codec(for: "application/json; charset=utf-8").contentType == "application/json")
        #expect(try codecs.codec(for: "Application/JSON ;charset=UTF-8").contentType == "application/json")
        #expect(try codecs.codec(for: "application/protobuf").contentType == "application/protobuf")
        #expect(try codecs.codec(for: "application/x-protobuf").contentType == "application/x-protobuf")
        #expect(try codecs.codec(for: "application/octet-stream").contentType == "application/octet-stream")
        // The codec found through parameters really is the JSON one.
        let c = try codecs.codec(for: "application/json; charset=utf-8")
        #expect(try c.decode(Inner.self, from: c.encode(Inner(street: "s", zip: 2))) == Inner(street: "s", zip: 2))
    }

    @Test(arguments: ["text/xml", "application/grpc+weird", "", "application/jsonx"])
    func unknownContentTypeIs415(type: String) throws {
        let error = #expect(throws: MicroError.self) { try Codecs.standard.codec(for: type) }
        let e = try #require(error)
        #expect(e.code == 415)
        #expect(e.status == "Unsupported Media Type")
        #expect(e.detail.contains("unsupported content type"))
        if !type.isEmpty { #expect(e.detail.contains(type)) }
    }

    @Test func registerAddsACodec() throws {
        var codecs = Codecs([JSONCodec()])
        #expect(throws: MicroError.self) { try codecs.codec(for: "application/octet-stream") }
        codecs.register(RawCodec())
        #expect(try codecs.codec(for: "application/octet-stream").contentType == "application/octet-stream")
        codecs.register(JSONCodec(contentType: "text/json"))
        #expect(try codecs.codec(for: "text/json; charset=utf-8").contentType == "text/json")
    }

    @Test func baseType() {
        #expect(Codecs.baseType("application/json; charset=utf-8") == "application/json")
        #expect(Codecs.baseType("  Application/Protobuf  ") == "application/protobuf")
        #expect(Codecs.baseType("application/json") == "application/json")
    }

    @Test func brokerMessageUsesGoMicroEnvelope() throws {
        let m = BrokerMessage(header: ["Micro-Topic": "t"], body: Array("hi".utf8))
        let data = try JSONEncoder().encode(m)
        let object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["Body"] as? String == "aGk=")
        #expect((object["Header"] as? [String: String])?["Micro-Topic"] == "t")
        #expect(try JSONDecoder().decode(BrokerMessage.self, from: data) == m)
        #expect(m.header("micro-topic") == "t")
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(BrokerMessage.self, from: Data(#"{"Header":{},"Body":"***"}"#.utf8))
        }
    }
}
