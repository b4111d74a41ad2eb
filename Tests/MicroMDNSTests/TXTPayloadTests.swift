import Foundation
import MicroCore
import Testing
@testable import MicroMDNS

@Suite struct TXTPayloadTests {
    @Test func aPayloadRoundTripsInStringsOfAtMost255HexDigits() throws {
        let endpoints = (0..<40).map { Endpoint(name: "E.M\($0)", request: Value(name: "R", type: "R", values: [Value(name: "f\($0)", type: "string")])) }
        let p = MDNSTXTPayload(service: "svc", version: "v1", endpoints: endpoints, metadata: ["a": "b"], serviceMetadata: ["team": "core"])
        let strings = try p.txtStrings()
        #expect(strings.count > 1)
        #expect(strings.dropLast().allSatisfy { $0.count == 255 } && strings.last!.count <= 255)
        #expect(strings.joined().allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        #expect(try MDNSTXTPayload.decode(strings, maxPayloadBytes: 1 << 20) == p)
    }

    @Test func goMicrosJSONWithNullsAndNoServiceMetadataDecodes() throws {
        let json = #"{"Metadata":null,"Service":"go","Version":"latest","Endpoints":[{"name":"G.H","request":null,"response":{"name":"R","type":"R","values":null},"metadata":null}]}"#
        let hex = Zlib.compress(Array(json.utf8)).map { String(format: "%02x", $0) }.joined()
        let strings = stride(from: 0, to: hex.count, by: 255).map { Array(Array(hex.utf8)[$0..<min($0 + 255, hex.count)]) }
        let p = try MDNSTXTPayload.decode(strings, maxPayloadBytes: 4096)
        #expect(p.service == "go" && p.version == "latest" && p.metadata.isEmpty && p.serviceMetadata.isEmpty)
        #expect(p.endpoints == [Endpoint(name: "G.H", response: Value(name: "R", type: "R"))])
    }

    @Test func theJSONHasGoMicrosCapitalisedKeys() throws {
        let p = MDNSTXTPayload(service: "s", version: "1", endpoints: [], metadata: ["k": "v"], serviceMetadata: [:])
        let compressed = try p.txtStrings().joined()
        let bytes = stride(from: 0, to: compressed.count, by: 2).map { UInt8(String(decoding: Array(compressed)[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
        let json = try JSONSerialization.jsonObject(with: Data(try Zlib.decompress(bytes, maxSize: 4096))) as! [String: Any]
        #expect(Set(json.keys) == ["Metadata", "Service", "Version", "Endpoints"])
    }

    @Test func malformedPayloadsAreTypedErrors() throws {
        func code(_ strings: [[UInt8]], max: Int = 4096) -> MDNSError.Code? {
            do { _ = try MDNSTXTPayload.decode(strings, maxPayloadBytes: max); return nil } catch { return error.code }
        }
        #expect(code([]) == .malformedTXT)
        #expect(code([Array("abc".utf8)]) == .malformedTXT)          // odd length
        #expect(code([Array("zz".utf8)]) == .malformedTXT)           // not hex
        #expect(code([Array("78da00".utf8)]) == .malformedTXT)       // truncated zlib
        let notJSON = Zlib.compress(Array("hello".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(code([Array(notJSON.utf8)]) == .malformedTXT)
        // A zlib bomb: 1 MiB of zeros inflates past the bound.
        let bomb = Zlib.compress([UInt8](repeating: 0x20, count: 1 << 20)).map { String(format: "%02x", $0) }.joined()
        #expect(code(stride(from: 0, to: bomb.count, by: 255).map { Array(Array(bomb.utf8)[$0..<min($0 + 255, bomb.count)]) }, max: 64 * 1024) == .malformedTXT)
    }
}
