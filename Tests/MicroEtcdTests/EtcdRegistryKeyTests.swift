import MicroEtcd
import Testing

@Suite struct EtcdRegistryKeyTests {
    @Test func roundTrip() {
        let k = EtcdRegistryKey(service: "greeter", node: "greeter-1234")
        #expect(k.key == "/micro/registry/greeter/greeter-1234")
        #expect(EtcdRegistryKey(parsing: k.key) == k)
        #expect(EtcdRegistryKey.servicePrefix("greeter") == "/micro/registry/greeter/")
    }

    @Test(arguments: ["", "/micro/registry/", "/micro/registry/x", "/micro/registry//n", "/micro/registry/x/", "/other/x/y"])
    func malformedKeysAreRejected(_ key: String) {
        #expect(EtcdRegistryKey(parsing: key) == nil)
    }
}
