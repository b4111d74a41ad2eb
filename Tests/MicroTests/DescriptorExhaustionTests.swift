import Foundation
import Micro
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// A service at its file-descriptor limit: connections beyond it wait in the backlog while
    /// accept backs off, instead of a core spinning on `accept4` failing with EMFILE.
    @Suite struct DescriptorExhaustion {
        /// CPU seconds (user + system) the process has used so far, from /proc.
        static func cpuSeconds(_ pid: Int32) -> Double? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state is field 3, utime 14, stime 15 (1-based in proc(5)).
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }

        /// Opens a TCP connection to 127.0.0.1:port and returns its descriptor (the kernel completes
        /// the handshake from the backlog even when the server cannot accept).
        static func connect(port: Int) -> Int32? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { Glibc.close(fd); return nil }
            return fd
        }

        @Test func acceptBacksOffAtTheDescriptorLimit() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start(executable: URL(fileURLWithPath: "/bin/sh"),
                                      ["-c", "ulimit -n 128 && exec \"$0\"", try BuiltProducts.executable("greeter").path], label: "greeter")
            let node = try #require(try await waitForNodes("greeter", in: h.registryDirectory).first)
            let port = try #require(Int(node.address.split(separator: ":").last ?? ""))

            // More connections than the greeter has descriptors left.
            var held: [Int32] = []
            defer { for fd in held { Glibc.close(fd) } }
            for _ in 0..<200 {
                if let fd = Self.connect(port: port) { held.append(fd) }
            }
            #expect(held.count >= 150, "only \(held.count) connections")
            try await Task.sleep(for: .milliseconds(500))
            let before = try #require(Self.cpuSeconds(greeter.pid))
            try await Task.sleep(for: .seconds(2))
            let used = try #require(Self.cpuSeconds(greeter.pid)) - before
            // Spinning on accept would use about 2 s of CPU here.
            #expect(used < 0.5, "the greeter used \(used) s of CPU in 2 s at its descriptor limit")

            // Once the connections go, the greeter serves again.
            for fd in held { Glibc.close(fd) }
            held.removeAll()
            var answered = false
            for _ in 0..<10 where !answered {
                let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"again"}"#])
                answered = call.status == 0 && call.stdout.contains("Hello again")
                if !answered { try await Task.sleep(for: .milliseconds(500)) }
            }
            #expect(answered, "the greeter did not serve after the connections closed: \(greeter.output)")
            #expect(greeter.isRunning, "greeter died: \(greeter.output)")
        }
    }
}
