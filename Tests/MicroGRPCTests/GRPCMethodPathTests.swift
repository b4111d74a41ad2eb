import MicroGRPC
import Testing

@Suite struct GRPCMethodPathTests {
    @Test func pathsAndAlias() {
        let p = GRPCMethodPath(protoPackage: "helloworld", service: "Greeter", method: "SayHello")
        #expect(p.fullPath == "/helloworld.Greeter/SayHello")
        #expect(p.goMicroAlias(registeredName: "greeter") == "/greeter.Greeter/SayHello")
        #expect(p.endpoint == "Greeter.SayHello")
        #expect(GRPCMethodPath(protoPackage: "", service: "G", method: "M").fullPath == "/G/M")
    }

    @Test(arguments: ["", "/", "//", "/a", "/a/", "//b", "/a/b/c", "a/b"]) func malformedPathsDoNotSplit(_ path: String) {
        #expect(GRPCMethodPath.split(path) == nil)
    }

    @Test func splitsQualifiedService() {
        let s = GRPCMethodPath.split("/a.b.Greeter/SayHello")
        #expect(s?.qualifiedService == "a.b.Greeter" && s?.method == "SayHello")
    }
}
