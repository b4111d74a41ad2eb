import Foundation
import GRPCCore
@testable import MicroGRPC
import SwiftProtobuf
import MicroTestSupport
import Testing

/// The descriptor-driven JSON ⇄ protobuf transcoder, field type by field type, cross-checked
/// against SwiftProtobuf's generated code for the same protos.
@Suite struct ProtoTranscoderTests {
    static let testIndex: ProtoDescriptorIndex = {
        let bytes = Array(Data(base64Encoded: MicroGRPCTestsDescriptors.base64, options: .ignoreUnknownCharacters)!)
        return try! ProtoDescriptorIndex(descriptorSet: bytes)
    }()
    static let bundledIndex = try! ProtoDescriptorIndex(descriptorSet: GRPCDescriptorPool.bundled)

    let encoder = ProtoJSONEncoder(index: testIndex)
    let decoder = ProtoJSONDecoder(index: testIndex)
    static let allTypes = "micro.testing.AllTypes"

    func encode(_ json: String, _ type: String = allTypes) throws -> [UInt8] { try encoder.encode(json: json, as: type) }
    func decode(_ bytes: [UInt8], _ type: String = allTypes) throws -> String { try decoder.decode(bytes, as: type) }

    /// The error `body` throws (nil if none), as a transcoding error.
    func failure(_ body: () throws -> Void) -> ProtoTranscodingError? {
        do { try body(); return nil } catch { return error as? ProtoTranscodingError }
    }

    static let deterministic: BinaryEncodingOptions = {
        var o = BinaryEncodingOptions()
        o.useDeterministicOrdering = true
        return o
    }()

    /// JSON → bytes equals SwiftProtobuf's bytes for the message that JSON describes, and bytes →
    /// JSON parses back to an equal message.
    func crossCheck<M: SwiftProtobuf.Message & Equatable>(_ message: M, index: ProtoDescriptorIndex = testIndex,
                                                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        let json = try message.jsonString()
        let expected: [UInt8] = try message.serializedBytes(options: Self.deterministic)
        let bytes = try ProtoJSONEncoder(index: index).encode(json: json, as: M.protoMessageName)
        #expect(bytes == expected, "JSON→bytes of \(json)", sourceLocation: sourceLocation)
        let back = try ProtoJSONDecoder(index: index).decode(expected, as: M.protoMessageName)
        let parsed = try M(jsonString: back)
        #expect(parsed == message, "bytes→JSON \(back)", sourceLocation: sourceLocation)
        // The original proto names are accepted too.
        var names = JSONEncodingOptions()
        names.preserveProtoFieldNames = true
        let protoNamed = try ProtoJSONEncoder(index: index).encode(json: try message.jsonString(options: names), as: M.protoMessageName)
        #expect(protoNamed == expected, "proto-named JSON", sourceLocation: sourceLocation)
    }

    static func sample() -> Micro_Testing_AllTypes {
        var inner = Micro_Testing_Inner()
        inner.a = 7
        inner.b = "inner"
        inner.child.a = -3
        var m = Micro_Testing_AllTypes()
        m.fInt32 = -123
        m.fInt64 = Int64.min
        m.fUint32 = UInt32.max
        m.fUint64 = UInt64.max
        m.fSint32 = -2_000_000_000
        m.fSint64 = -9_000_000_000_000_000_000
        m.fFixed32 = 4_000_000_000
        m.fFixed64 = 18_000_000_000_000_000_000
        m.fSfixed32 = Int32.min
        m.fSfixed64 = -1
        m.fFloat = 0.1
        m.fDouble = -1.25e-300
        m.fBool = true
        m.fString = "héllo \"quoted\" \\ \n\t\u{1} 😀"
        m.fBytes = Data([0, 1, 2, 250, 255])
        m.fEnum = .negative
        m.fMessage = inner
        m.fOptional = 0
        m.rInt32 = [1, -1, Int32.max]
        m.rInt64 = [0, Int64.max, Int64.min]
        m.rSint64 = [-5, 5]
        m.rDouble = [1.5, -0.0, 1e300]
        m.rFloat = [3.25, -1]
        m.rBool = [true, false, true]
        m.rString = ["a", "", "c"]
        m.rBytes = [Data(), Data([1])]
        m.rEnum = [.red, .green, .unspecified]
        m.rMessage = [inner, Micro_Testing_Inner()]
        m.rFixed32 = [1, 2]
        m.rUint64 = [UInt64.max, 0]
        m.mStringInt32 = ["b": 2, "a": 1, "": 0]
        m.mInt32String = [-1: "minus", 10: "ten", 2: ""]
        m.mInt64Message = [Int64.max: inner, -4: Micro_Testing_Inner()]
        m.mBoolEnum = [true: .red, false: .unspecified]
        m.mUint32Bytes = [7: Data([9, 9])]
        m.mStringString = ["k": "v"]
        m.oMessage = inner
        m.wTimestamp = Google_Protobuf_Timestamp(seconds: 1_700_000_000, nanos: 123_000_000)
        m.wDuration = Google_Protobuf_Duration(seconds: -3, nanos: -500_000_000)
        m.wStruct = Google_Protobuf_Struct(fields: ["n": .init(numberValue: 1.5), "s": .init(stringValue: "x"), "b": .init(boolValue: true),
                                                    "z": .init(nilLiteral: ()), "l": .init(listValue: [1, "two", Google_Protobuf_Value(structValue: [:])]),
                                                    "o": .init(structValue: ["deep": .init(numberValue: -2)])])
        m.wValue = Google_Protobuf_Value(listValue: [true, 3])
        m.wList = [Google_Protobuf_Value(stringValue: "only")]
        m.wInt32 = Google_Protobuf_Int32Value(-7)
        m.wInt64 = Google_Protobuf_Int64Value(Int64.min)
        m.wUint64 = Google_Protobuf_UInt64Value(0)
        m.wString = Google_Protobuf_StringValue("wrapped")
        m.wBool = Google_Protobuf_BoolValue(false)
        m.wDouble = Google_Protobuf_DoubleValue(2.5)
        m.wBytes = Google_Protobuf_BytesValue(Data([1, 2, 3]))
        m.wFloat = Google_Protobuf_FloatValue(-0.5)
        m.wUint32 = Google_Protobuf_UInt32Value(UInt32.max)
        m.wMask = Google_Protobuf_FieldMask(protoPaths: ["f_int32", "f_message.child"])
        m.wEmpty = Google_Protobuf_Empty()
        m.rTimestamp = [Google_Protobuf_Timestamp(seconds: -62_135_596_800, nanos: 0), Google_Protobuf_Timestamp(seconds: 253_402_300_799, nanos: 999_999_999)]
        m.mValues = ["null": .init(nilLiteral: ()), "num": .init(numberValue: 42)]
        m.snakeCaseName = 9
        m.customJson = "renamed"
        return m
    }

    // MARK: Cross-checks against SwiftProtobuf

    @Test func everyFieldKindMatchesSwiftProtobuf() throws {
        try crossCheck(Self.sample())
        try crossCheck(Micro_Testing_AllTypes())
        var oneofs = Micro_Testing_AllTypes()
        oneofs.oString = ""
        try crossCheck(oneofs)
        oneofs.oInt64 = 0
        try crossCheck(oneofs)
        var defaults = Micro_Testing_AllTypes()
        defaults.fOptional = 0
        defaults.fMessage = Micro_Testing_Inner()
        defaults.wInt32 = Google_Protobuf_Int32Value(0)
        defaults.wValue = Google_Protobuf_Value(nilLiteral: ())
        try crossCheck(defaults)
    }

    @Test func bundledAndInteropMessagesMatchSwiftProtobuf() throws {
        try crossCheck(hello("Alice ✓"), index: Self.bundledIndex)
        var reply = Helloworld_HelloReply()
        reply.message = "Hello"
        try crossCheck(reply, index: Self.bundledIndex)
        var health = Grpc_Health_V1_HealthCheckResponse()
        health.status = .notServing
        try crossCheck(health, index: Self.bundledIndex)
        var reflection = Grpc_Reflection_V1_ServerReflectionResponse()
        reflection.validHost = "h"
        reflection.originalRequest.fileContainingSymbol = "a.B"
        reflection.fileDescriptorResponse.fileDescriptorProto = [Data([1, 2, 3]), Data()]
        try crossCheck(reflection, index: Self.bundledIndex)
        var ext = Grpc_Reflection_V1_ServerReflectionResponse()
        ext.allExtensionNumbersResponse.baseTypeName = "x.Y"
        ext.allExtensionNumbersResponse.extensionNumber = [100, 200, 536_870_911]
        try crossCheck(ext, index: Self.bundledIndex)
        var error = Errors_Error()
        error.id = "greeter"
        error.code = 404
        error.detail = "not found"
        error.status = "Not Found"
        try crossCheck(error, index: Self.bundledIndex)

        var simple = Grpc_Testing_SimpleRequest()
        simple.responseType = .compressable
        simple.responseSize = 314_159
        simple.payload.body = Data(repeating: 0xAB, count: 100)
        simple.fillUsername = true
        simple.responseCompressed.value = true
        simple.responseStatus.code = 2
        simple.responseStatus.message = "boom"
        try crossCheck(simple)
        var streaming = Grpc_Testing_StreamingOutputCallRequest()
        streaming.responseParameters = [.with { $0.size = 1; $0.intervalUs = 10 }, .with { $0.size = 2 }]
        try crossCheck(streaming)
    }

    // MARK: Scalars

    @Test func integersAcceptNumbersAndStringsAndCheckRanges() throws {
        #expect(try encode(#"{"fInt32": 150}"#) == [0x08, 0x96, 0x01])
        #expect(try encode(#"{"fInt32": "150"}"#) == [0x08, 0x96, 0x01])
        #expect(try encode(#"{"fInt32": 1.5e2}"#) == [0x08, 0x96, 0x01])
        #expect(try encode(#"{"fInt32": -1}"#) == [0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        #expect(try encode(#"{"fSint32": -1}"#) == [0x28, 0x01])
        #expect(try encode(#"{"fInt64": "9223372036854775807"}"#) == [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(try encode(#"{"fUint64": 18446744073709551615}"#).count == 11)
        #expect(try encode(#"{"fFixed32": 1}"#) == [0x3D, 1, 0, 0, 0])
        #expect(try encode(#"{"fSfixed64": "-2"}"#) == [0x51, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try encode(#"{"fInt32": 0}"#) == [], "a default without presence is not written")
        #expect(try encode(#"{"fOptional": 0}"#) == [0x90, 0x01, 0x00], "an optional default is")
        for bad in [#"{"fInt32": 2147483648}"#, #"{"fInt32": 1.5}"#, #"{"fUint32": -1}"#, #"{"fUint64": "18446744073709551616"}"#,
                    #"{"fInt64": "9223372036854775808"}"#, #"{"fInt32": "0x10"}"#, #"{"fInt32": true}"#, #"{"fInt32": "nan"}"#] {
            let e = failure { _ = try encode(bad) }
            #expect(e?.code == .wrongType, "\(bad): \(String(describing: e))")
        }
        #expect(try decode([0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) == #"{"fInt64":"9223372036854775807"}"#)
        #expect(try decode([0x28, 0x03]) == #"{"fSint32":-2}"#)
        #expect(try decode([0x08, 0x00]) == "{}", "an explicit default without presence is left out")
        #expect(try decode([0x90, 0x01, 0x00]) == #"{"fOptional":0}"#)
    }

    @Test func floatsBoolsStringsAndBytes() throws {
        #expect(try decode(try encode(#"{"fDouble": "NaN"}"#)) == #"{"fDouble":"NaN"}"#)
        #expect(try decode(try encode(#"{"fDouble": "-Infinity"}"#)) == #"{"fDouble":"-Infinity"}"#)
        #expect(try decode(try encode(#"{"fDouble": 2}"#)) == #"{"fDouble":2}"#)
        #expect(try decode(try encode(#"{"fFloat": "0.1"}"#)) == #"{"fFloat":0.1}"#)
        #expect(failure { _ = try encode(#"{"fFloat": 1e39}"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{"fDouble": "abc"}"#) }?.code == .wrongType)
        #expect(try encode(#"{"fBool": true}"#) == [0x68, 0x01])
        #expect(failure { _ = try encode(#"{"fBool": 1}"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{"fBool": "true"}"#) }?.code == .wrongType)
        #expect(try encode(#"{"fString": "\u00e9\ud83d\ude00"}"#) == [0x72, 6, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80])
        #expect(failure { _ = try encode(#"{"fString": 5}"#) }?.code == .wrongType)
        // Standard and URL-safe base64, padded or not.
        for text in ["+/8=", "-_8", "-_8="] {
            #expect(try encode(#"{"fBytes": "\#(text)"}"#) == [0x7A, 2, 0xFB, 0xFF], "\(text)")
        }
        #expect(failure { _ = try encode(#"{"fBytes": "%%%"}"#) }?.code == .wrongType)
        #expect(try decode([0x7A, 2, 0xFB, 0xFF]) == #"{"fBytes":"+/8="}"#)
        #expect(failure { _ = try decode([0x72, 2, 0xC3, 0x28]) }?.code == .malformedProtobuf, "invalid UTF-8 in a string")
    }

    @Test func enumsByNameOrNumber() throws {
        #expect(try encode(#"{"fEnum": "GREEN"}"#) == [0x80, 0x01, 0x02])
        #expect(try encode(#"{"fEnum": 2}"#) == [0x80, 0x01, 0x02])
        #expect(try encode(#"{"fEnum": "NEGATIVE"}"#) == [0x80, 0x01] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        let e = failure { _ = try encode(#"{"fEnum": "BLUE"}"#) }
        #expect(e?.code == .wrongType && e?.description.contains("BLUE") == true && e?.path == "fEnum", "\(String(describing: e))")
        #expect(try decode([0x80, 0x01, 0x01]) == #"{"fEnum":"RED"}"#)
        #expect(try decode([0x80, 0x01, 0x09]) == #"{"fEnum":9}"#, "an unknown number stays a number")
    }

    // MARK: Messages, repeated, maps, oneofs

    @Test func fieldNamesPathsAndUnknownFields() throws {
        #expect(try encode(#"{"snake_case_name": 1}"#) == (try encode(#"{"snakeCaseName": 1}"#)))
        #expect(try encode(#"{"renamed": "x"}"#) == (try encode(#"{"custom_json": "x"}"#)), "json_name and the proto name")
        let unknown = failure { _ = try encode(#"{"fMessage": {"a": 1, "nope": 2}}"#) }
        #expect(unknown?.code == .unknownField && unknown?.description.contains("\"nope\"") == true && unknown?.path == "fMessage", "\(String(describing: unknown))")
        let wrong = failure { _ = try encode(#"{"rMessage": [{"a": 1}, {"b": 3}]}"#) }
        #expect(wrong?.code == .wrongType && wrong?.path == "rMessage[1].b", "\(String(describing: wrong))")
        #expect(failure { _ = try encode(#"{"fMessage": 3}"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{"rInt32": 3}"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{"fInt32": 1, "f_int32": 2}"#) }?.code == .duplicateField)
        let oneof = failure { _ = try encode(#"{"oString": "a", "oInt64": 1}"#) }
        #expect(oneof?.code == .duplicateField && oneof?.description.contains("choice") == true, "\(String(describing: oneof))")
        #expect(try encode(#"{"fMessage": null, "rInt32": null, "fInt32": null}"#) == [], "null is the field's absence")
        #expect(try encode("") == [] && (try encode("  {}  ")) == [])
        #expect(failure { _ = try encode(#"{"fInt32": 1"#) }?.code == .malformedJSON)
        #expect(failure { _ = try encode(#"[1]"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{}"#, "no.such.Message") }?.code == .unknownType)
    }

    @Test func repeatedFieldsArePackedAndMapsSorted() throws {
        #expect(try encode(#"{"rInt32": [1, 2, 3]}"#) == [0xAA, 0x01, 3, 1, 2, 3])
        #expect(try encode(#"{"rInt32": []}"#) == [])
        #expect(try encode(#"{"rString": ["a", ""]}"#) == [0xDA, 0x01, 1, 0x61, 0xDA, 0x01, 0])
        // Packed and unpacked both decode.
        #expect(try decode([0xAA, 0x01, 2, 5, 6, 0xA8, 0x01, 7]) == #"{"rInt32":[5,6,7]}"#)
        #expect(try decode(try encode(#"{"mInt32String": {"10": "ten", "-1": "m", "2": "two"}}"#)) == #"{"mInt32String":{"-1":"m","2":"two","10":"ten"}}"#)
        #expect(try decode(try encode(#"{"mBoolEnum": {"true": "RED", "false": 2}}"#)) == #"{"mBoolEnum":{"false":"GREEN","true":"RED"}}"#)
        #expect(failure { _ = try encode(#"{"mInt32String": {"x": "y"}}"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{"mBoolEnum": {"yes": "RED"}}"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{"mStringInt32": {"a": null}}"#) }?.code == .wrongType)
        // The last member of a oneof sent wins; a message sent twice merges.
        let first = try encode(#"{"oString": "a"}"#), second = try encode(#"{"oInt64": "5"}"#)
        #expect(try decode(first + second) == #"{"oInt64":"5"}"#)
        let a = try encode(#"{"fMessage": {"a": 1}}"#), b = try encode(#"{"fMessage": {"b": "x"}}"#)
        #expect(try decode(a + b) == #"{"fMessage":{"a":1,"b":"x"}}"#)
    }

    @Test func wellKnownTypes() throws {
        func roundTrip(_ json: String) throws -> String { try decode(try encode(json)) }
        #expect(try roundTrip(#"{"wTimestamp": "2024-02-29T23:59:59.5+01:00"}"#) == #"{"wTimestamp":"2024-02-29T22:59:59.500Z"}"#)
        #expect(try roundTrip(#"{"wTimestamp": "1970-01-01T00:00:00Z"}"#) == #"{"wTimestamp":"1970-01-01T00:00:00Z"}"#)
        #expect(try roundTrip(#"{"wTimestamp": "1969-12-31T23:59:59.000001Z"}"#) == #"{"wTimestamp":"1969-12-31T23:59:59.000001Z"}"#)
        for bad in ["2023-02-29T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "10000-01-01T00:00:00Z", "2024-01-01T00:00:00.1234567891Z"] {
            #expect(failure { _ = try encode(#"{"wTimestamp": "\#(bad)"}"#) }?.code == .wrongType, "\(bad)")
        }
        #expect(try roundTrip(#"{"wDuration": "-0.5s"}"#) == #"{"wDuration":"-0.500s"}"#)
        #expect(try roundTrip(#"{"wDuration": "3s"}"#) == #"{"wDuration":"3s"}"#)
        #expect(try roundTrip(#"{"wDuration": "1.000000001s"}"#) == #"{"wDuration":"1.000000001s"}"#)
        #expect(failure { _ = try encode(#"{"wDuration": "5"}"#) }?.code == .wrongType)
        #expect(failure { _ = try encode(#"{"wDuration": "315576000001s"}"#) }?.code == .wrongType)
        #expect(try roundTrip(#"{"wInt64": "-5", "wString": "", "wBool": true}"#) == #"{"wInt64":"-5","wString":"","wBool":true}"#)
        #expect(try roundTrip(#"{"wStruct": {"b": [1, "x", null, {"c": false}], "a": {}}}"#) == #"{"wStruct":{"a":{},"b":[1,"x",null,{"c":false}]}}"#)
        #expect(try roundTrip(#"{"wValue": null}"#) == #"{"wValue":null}"#)
        #expect(try roundTrip(#"{"wValue": "s", "wList": [1.5]}"#) == #"{"wValue":"s","wList":[1.5]}"#)
        #expect(try roundTrip(#"{"wMask": "fInt32,fMessage.child"}"#) == #"{"wMask":"fInt32,fMessage.child"}"#)
        #expect(try roundTrip(#"{"wEmpty": {}}"#) == #"{"wEmpty":{}}"#)
        #expect(failure { _ = try encode(#"{"wEmpty": {"x": 1}}"#) }?.code == .unknownField)
        #expect(failure { _ = try encode(#"{}"#, "google.protobuf.Any") }?.code == .unsupported)
    }

    // MARK: Untrusted input

    @Test func malformedProtobufIsATypedError() throws {
        let cases: [(String, [UInt8], ProtoTranscodingError.Code)] = [
            ("truncated varint", [0x08, 0x96], .malformedProtobuf),
            ("truncated tag", [0x80], .malformedProtobuf),
            ("varint over 10 bytes", [0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01], .malformedProtobuf),
            ("wrong wire type", [0x09, 0, 0, 0, 0, 0, 0, 0, 0], .malformedProtobuf),
            ("string as varint", [0x70, 0x01], .malformedProtobuf),
            ("length past the end", [0x72, 0x05, 0x61], .malformedProtobuf),
            ("huge length", [0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .malformedProtobuf),
            ("field number 0", [0x00, 0x01], .malformedProtobuf),
            ("wire type 7", [0x0F], .malformedProtobuf),
            ("truncated fixed32", [0x3D, 1, 2], .malformedProtobuf),
            ("stray end group", [0x0C], .malformedProtobuf),
            ("truncated packed run", [0xAA, 0x01, 2, 0x96], .malformedProtobuf),
            ("bad nested message", [0x8A, 0x01, 2, 0x08, 0x96], .malformedProtobuf),
            ("timestamp out of range", [0xE2, 0x03] + Self.varint(1 + Self.varint(253_402_300_800).count) + [0x08] + Self.varint(253_402_300_800),
             .malformedProtobuf),
        ]
        for (name, bytes, code) in cases {
            let e = failure { _ = try decode(bytes) }
            #expect(e?.code == code, "\(name): \(String(describing: e))")
        }
        // Unknown fields (also groups) are skipped.
        #expect(try decode([0xF8, 0x3E, 0x05, 0xFB, 0x3E, 0x08, 0x01, 0xFC, 0x3E, 0x08, 0x02]) == #"{"fInt32":2}"#)
    }

    @Test func nestingIsBounded() throws {
        // Inner.child nested 200 deep: past the bound of 100.
        var bytes: [UInt8] = [0x08, 0x01]
        for _ in 0..<200 { bytes = [0x1A] + Self.varint(bytes.count) + bytes }
        let e = failure { _ = try decoder.decode(bytes, as: "micro.testing.Inner") }
        #expect(e?.code == .tooDeep, "\(String(describing: e))")
        let shallow = ProtoJSONDecoder(index: Self.testIndex, maxDepth: 300)
        #expect(try shallow.decode(bytes, as: "micro.testing.Inner").hasPrefix(#"{"child":{"child":"#))
        let deepJSON = String(repeating: #"{"child":"#, count: 150) + "{}" + String(repeating: "}", count: 150)
        #expect(failure { _ = try encoder.encode(json: deepJSON, as: "micro.testing.Inner") }?.code == .tooDeep)
        let deepArray = #"{"wValue":"# + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "}"
        #expect(failure { _ = try encode(deepArray) }?.code == .tooDeep)
    }

    @Test func seededFuzzOfTheDecoderNeverTraps() throws {
        var rng = SeededGenerator(seed: 0x5EED_1234)
        let valid: [UInt8] = try Self.sample().serializedBytes(options: Self.deterministic)
        let types = [Self.allTypes, "micro.testing.Inner", "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.Timestamp",
                     "google.protobuf.Duration", "google.protobuf.FieldMask", "grpc.testing.SimpleRequest"]
        var decoded = 0, rejected = 0
        for round in 0..<4000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = valid
                for _ in 0..<(1 + Int(rng.next() % 8)) {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 3 {
                    case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.removeSubrange(i..<min(bytes.count, i + Int(rng.next() % 16)))
                    default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                    }
                    if bytes.isEmpty { bytes = [0] }
                }
            }
            let type = types[Int(rng.next() % UInt64(types.count))]
            do {
                let json = try decoder.decode(bytes, as: type)
                // Whatever decodes is valid JSON.
                #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])) != nil, "\(json)")
                decoded += 1
            } catch {
                rejected += 1
            }
        }
        #expect(decoded > 100 && rejected > 100, "decoded \(decoded), rejected \(rejected)")
    }

    static func varint(_ n: Int) -> [UInt8] {
        var v = UInt64(n), out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }

    // MARK: Finding methods

    @Test func methodsByPathFullNameOrServiceDotMethod() throws {
        let index = Self.testIndex
        let full = try index.method(for: "grpc.testing.TestService.UnaryCall")
        #expect(full.path == "/grpc.testing.TestService/UnaryCall" && full.input == "grpc.testing.SimpleRequest" && !full.serverStreaming)
        #expect(try index.method(for: "/grpc.testing.TestService/StreamingOutputCall").serverStreaming)
        #expect(try index.method(for: "TestService.UnaryCall") == full)
        let unknown = failure { _ = try index.method(for: "TestService.Nope") }
        #expect(unknown?.code == .unknownType && unknown?.description.contains("Nope") == true && unknown?.description.contains("UnaryCall") == true)
        #expect(failure { _ = try index.method(for: "NoService.UnaryCall") }?.code == .unknownType)
        #expect(failure { _ = try index.method(for: "nodot") }?.code == .unknownType)
    }
}
