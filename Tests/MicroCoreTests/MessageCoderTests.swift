import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import MicroCore

/// The per-type coding a handler resolves at registration must give exactly what the codecs' general
/// `encode`/`decode` give, for every kind of message and every standard codec.
@Suite struct MessageCoderTests {
    let sample = Outer(name: "Alice", count: 3, ratio: 0.5, tags: ["a", "b"], inner: Inner(street: "Main", zip: 12345), note: nil, url: "http://x/y")
    let codecs: [any Codec] = [JSONCodec(), ProtobufCodec(), RawCodec()]

    @Test func codableMatchesTheGeneralPath() throws {
        let coder = MessageCoder<Outer>()
        let json = JSONCodec()
        let encoded = try coder.encode(json, sample)
        // Foundation's JSONEncoder does not fix key order between calls: compare the objects written.
        let general = try json.encode(sample)
        let object = { (b: ByteBuffer) in try JSONSerialization.jsonObject(with: Data(b.readableBytesView)) as? NSDictionary }
        #expect(try object(encoded) == object(general))
        #expect(try coder.decode(json, encoded) == sample)
    }

    @Test func emptyJSONBodyIsAnEmptyObject() throws {
        struct Nothing: Codable, Equatable {}
        #expect(try MessageCoder<Nothing>().decode(JSONCodec(), ByteBuffer()) == Nothing())
    }

    @Test func errorsMatchTheGeneralPath() {
        let json = JSONCodec()
        for text in ["{", #"{"name":1}"#, "[]", "null"] {
            let general = #expect(throws: CodecError.self) { _ = try json.decode(Outer.self, from: ByteBuffer(string: text)) }
            let typed = #expect(throws: CodecError.self) { _ = try MessageCoder<Outer>().decode(json, ByteBuffer(string: text)) }
            #expect(general == typed, "\(text)")
        }
        // A codec that cannot carry Codable values says so the same way.
        let general = #expect(throws: CodecError.self) { _ = try ProtobufCodec().encode(sample) }
        let typed = #expect(throws: CodecError.self) { _ = try MessageCoder<Outer>().encode(ProtobufCodec(), sample) }
        #expect(general == typed)
    }

    @Test func bytesAndProtobufKeepTheGeneralPath() throws {
        let bytes: [UInt8] = [0, 1, 2, 0xff]
        for codec in codecs {
            #expect(try MessageCoder<[UInt8]>().encode(codec, bytes) == ByteBuffer(bytes: bytes))
            #expect(try MessageCoder<[UInt8]>().decode(codec, ByteBuffer(bytes: bytes)) == bytes)
            #expect(try MessageCoder<ByteBuffer>().decode(codec, ByteBuffer(bytes: bytes)) == ByteBuffer(bytes: bytes))
        }
        let message = Google_Protobuf_StringValue("hi")
        for codec in [JSONCodec(), ProtobufCodec()] as [any Codec] {
            let encoded = try MessageCoder<Google_Protobuf_StringValue>().encode(codec, message)
            #expect(encoded == (try codec.encode(message)))
            #expect(try MessageCoder<Google_Protobuf_StringValue>().decode(codec, encoded) == message)
        }
    }
}
