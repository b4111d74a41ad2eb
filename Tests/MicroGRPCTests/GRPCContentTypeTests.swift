import MicroGRPC
import Testing

@Suite struct GRPCContentTypeTests {
    @Test(arguments: [
        ("application/grpc", ""), ("application/grpc+proto", ""), ("application/grpc+json", "json"),
        ("  Application/GRPC+JSON ; charset=utf-8", "json"), ("application/grpc;x=1", ""), ("application/grpc\t", ""),
        ("application/grpc+thrift", "thrift"),
    ])
    func subtypes(_ contentType: String, _ expected: String) {
        #expect(GRPCContentType.subtype(of: contentType) == expected)
    }

    @Test(arguments: ["", ";", "application/json", "application/grpcx", "text/plain; application/grpc", "application/grp", "\u{00e9}application/grpc"])
    func notGRPC(_ contentType: String) {
        #expect(GRPCContentType.subtype(of: contentType) == nil)
    }

    @Test func codecContentTypes() {
        #expect(GRPCContentType.subtype(forCodecContentType: "application/json") == "json")
        #expect(GRPCContentType.subtype(forCodecContentType: " Application/Protobuf ") == "")
        #expect(GRPCContentType.subtype(forCodecContentType: "application/grpc+json") == "json")
        #expect(GRPCContentType.codecContentType(subtype: "json") == "application/json")
        #expect(GRPCContentType.grpcContentType(subtype: "json") == "application/grpc+json")
    }
}
