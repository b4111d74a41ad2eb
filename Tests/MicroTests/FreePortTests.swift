import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import MicroTestSupport

/// Ports for engines come from below the ephemeral range, are free, and are never handed out twice.
@Suite struct FreePortTests {
    @Test func portsAreFreeDistinctAndBelowTheEphemeralRange() throws {
        let range = try #require(FreePorts.pickable, "this machine's ephemeral range leaves no room below it")
        var seen = Set<Int>()
        for _ in 0..<200 {
            let port = try freePort()
            #expect(range.contains(port), "\(port) is outside \(range)")
            #expect(seen.insert(port).inserted, "\(port) handed out twice")
            #expect(FreePorts.canBind(port))
        }
    }

    @Test func aPortSomethingListensOnIsNotFree() throws {
        let port = try freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = FreePorts.loopback(port: port)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(fd, 1) == 0)
        #expect(!FreePorts.canBind(port))
        #expect(canConnect(port: port))
    }
}
