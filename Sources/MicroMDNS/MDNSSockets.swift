import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes the registry's UDP sockets, optionally inside a network namespace: per interface, one socket
/// on port 5353 that joined 224.0.0.251 there (announcements, answers, incoming queries and responses)
/// and one on an ephemeral port for queries (their answers come back to it as legacy unicast).
enum MDNSSockets {
    /// An IPv4 interface the registry uses.
    struct Interface: Sendable, Hashable {
        var name: String
        var index: UInt32
        /// Its IPv4 address (network byte order).
        var address: UInt32
    }

    /// The sockets made for one interface.
    struct Pair: Sendable {
        var interface: Interface
        /// Bound to 0.0.0.0:port, member of the group on this interface only.
        var multicast: CInt
        /// Bound to 0.0.0.0:0, sending to the group through this interface.
        var query: CInt
    }

    static let group = "224.0.0.251"

    /// Makes the sockets: in `namespace` on a thread of its own that enters it and ends afterwards,
    /// else on a fresh thread in the process's namespace.
    static func open(interfaces names: [String]?, port: Int, namespace: String?) async throws -> [Pair] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Pair], any Error>) in
            let thread = Thread {
                do {
                    if let namespace { try enter(namespace: namespace) }
                    continuation.resume(returning: try make(interfaces: names, port: port))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "micro-mdns-sockets"
            thread.start()
        }
    }

    private typealias SetNS = @convention(c) (CInt, CInt) -> CInt

    /// Moves the calling thread into the network namespace `/var/run/netns/NAME` (or a path).
    static func enter(namespace: String) throws(MDNSError) {
        let path = namespace.hasPrefix("/") ? namespace : "/var/run/netns/\(namespace)"
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MDNSError(.networkNamespace, "open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // setns(2) is not in every Glibc module map: look it up at run time.
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "setns") else {
            throw MDNSError(.networkNamespace, "setns is not available")
        }
        let setns = unsafeBitCast(symbol, to: SetNS.self)
        let CLONE_NEWNET: CInt = 0x4000_0000
        guard setns(fd, CLONE_NEWNET) == 0 else {
            throw MDNSError(.networkNamespace, "setns \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The interfaces that are up, multicast-capable and have an IPv4 address, or those named.
    static func interfaces(named names: [String]?) throws(MDNSError) -> [Interface] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw MDNSError(.noInterface, "getifaddrs: \(String(cString: strerror(errno)))") }
        defer { freeifaddrs(list) }
        var found: [Interface] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            let flags = entry.pointee.ifa_flags
            guard flags & UInt32(IFF_UP) != 0, flags & UInt32(IFF_MULTICAST) != 0 else { continue }
            if let names, !names.contains(name) { continue }
            guard !found.contains(where: { $0.name == name }) else { continue }
            let address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            found.append(Interface(name: name, index: if_nametoindex(name), address: address))
        }
        if let names {
            for name in names where !found.contains(where: { $0.name == name }) {
                throw MDNSError(.noInterface, "interface \(name) is missing, down, not multicast-capable or without an IPv4 address")
            }
        }
        guard !found.isEmpty else { throw MDNSError(.noInterface, "no interface is up, multicast-capable and has an IPv4 address") }
        return found
    }

    private static func make(interfaces names: [String]?, port: Int) throws -> [Pair] {
        var pairs: [Pair] = []
        do {
            for interface in try interfaces(named: names) {
                let multicast = try socket(bindPort: port, interface: interface, join: true)
                let query: CInt
                do { query = try socket(bindPort: 0, interface: interface, join: false) } catch {
                    close(multicast)
                    throw error
                }
                pairs.append(Pair(interface: interface, multicast: multicast, query: query))
            }
        } catch {
            for p in pairs { close(p.multicast); close(p.query) }
            throw error
        }
        return pairs
    }

    private static func check(_ rc: CInt, _ what: String, _ fd: CInt) throws(MDNSError) {
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw MDNSError(.socket, "\(what): \(message)")
        }
    }

    private static func option<T: BitwiseCopyable>(_ fd: CInt, _ level: CInt, _ name: CInt, _ value: T, _ what: String) throws(MDNSError) {
        let rc = withUnsafeBytes(of: value) { setsockopt(fd, level, name, $0.baseAddress, socklen_t($0.count)) }
        try check(rc, what, fd)
    }

    private static func socket(bindPort: Int, interface: Interface, join: Bool) throws(MDNSError) -> CInt {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw MDNSError(.socket, "socket: \(String(cString: strerror(errno)))") }
        let one: CInt = 1
        try option(fd, SOL_SOCKET, SO_REUSEADDR, one, "SO_REUSEADDR")
        try option(fd, SOL_SOCKET, SO_REUSEPORT, one, "SO_REUSEPORT")
        var mreqn = ip_mreqn()
        mreqn.imr_ifindex = CInt(interface.index)
        mreqn.imr_address.s_addr = interface.address
        try option(fd, CInt(IPPROTO_IP), IP_MULTICAST_IF, mreqn, "IP_MULTICAST_IF \(interface.name)")
        try option(fd, CInt(IPPROTO_IP), IP_MULTICAST_LOOP, UInt8(1), "IP_MULTICAST_LOOP")
        try option(fd, CInt(IPPROTO_IP), IP_MULTICAST_TTL, UInt8(255), "IP_MULTICAST_TTL")
        try option(fd, CInt(IPPROTO_IP), IP_TTL, CInt(255), "IP_TTL")
        // Only the groups this socket joined, on the interface it joined them on.
        let IP_MULTICAST_ALL: CInt = 49
        try option(fd, CInt(IPPROTO_IP), IP_MULTICAST_ALL, CInt(0), "IP_MULTICAST_ALL")
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(bindPort).bigEndian
        addr.sin_addr.s_addr = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try check(bound, "bind 0.0.0.0:\(bindPort)", fd)
        if join {
            var membership = ip_mreqn()
            membership.imr_multiaddr.s_addr = inet_addr(group)
            membership.imr_address.s_addr = interface.address
            membership.imr_ifindex = CInt(interface.index)
            try option(fd, CInt(IPPROTO_IP), IP_ADD_MEMBERSHIP, membership, "IP_ADD_MEMBERSHIP \(group) on \(interface.name)")
        }
        return fd
    }
}
