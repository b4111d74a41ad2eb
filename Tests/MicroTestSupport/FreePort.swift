import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A TCP port on 127.0.0.1 that nothing listens on, for an engine or server a test starts next.
///
/// Ports come from below the kernel's ephemeral range, and none is handed out twice in one run.
/// A port the kernel picks for a bind to 0 is an ephemeral one: between this check and the engine's
/// bind, an outgoing connection of a test running alongside could take it as its source port.
public func freePort() throws -> Int {
    if let range = FreePorts.pickable {
        for _ in 0..<500 {
            let candidate = Int.random(in: range)
            guard FreePorts.handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            if FreePorts.canBind(candidate) { return candidate }
        }
    }
    // No room below the ephemeral range (or all of it taken): one the kernel picks.
    return try FreePorts.kernelPicked()
}

package enum FreePorts {
    /// Every port ``freePort()`` returned in this process.
    package static let handedOut = Mutex<Set<Int>>([])

    /// 10000 up to the first ephemeral port (Linux: `net.ipv4.ip_local_port_range`), when that leaves room.
    package static let pickable: ClosedRange<Int>? = {
        var low = 32768
        #if os(Linux)
        if let range = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
           let first = range.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
           let value = Int(first) {
            low = value
        }
        #endif
        return low > 11000 ? 10000...(low - 1) : nil
    }()

    /// Whether a listener could bind 127.0.0.1:`port` now (address reuse on, as servers set it).
    package static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: CInt = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        var addr = loopback(port: port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A port the kernel assigns to a bind to port 0 (then released).
    package static func kernelPicked() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EngineMissing(description: "socket() failed") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw EngineMissing(description: "bind() failed") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    package static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }
}
