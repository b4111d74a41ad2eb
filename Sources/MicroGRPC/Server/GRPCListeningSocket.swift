#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import MicroCore

private func systemBind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    bind(fd, address, length)
}

/// A TCP socket bound (and listening) before grpc-swift's server takes it over, so `listen(on:)`
/// knows its port and fails at once if the address is taken, while serving stays inside the
/// listener's `run`.
enum GRPCListeningSocket {
    /// Binds `host:port` (an IPv4 or IPv6 literal; port 0 for any free one); returns the descriptor
    /// and the bound port.
    static func bind(host: String, port: Int) throws -> (descriptor: Int32, port: Int) {
        let v6 = host.contains(":")
        #if canImport(Glibc) || canImport(Musl)
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw failure("socket", host, port) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var bound = 0
        do {
            if v6 {
                var addr = sockaddr_in6()
                addr.sin6_family = sa_family_t(AF_INET6)
                addr.sin6_port = in_port_t(UInt16(port).bigEndian)
                guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else { throw notAnIP(host, port) }
                var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
                let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemBind(fd, $0, len) } }
                guard r == 0 else { throw failure("bind", host, port) }
                _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
                bound = Int(UInt16(bigEndian: addr.sin6_port))
            } else {
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = in_port_t(UInt16(port).bigEndian)
                guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw notAnIP(host, port) }
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemBind(fd, $0, len) } }
                guard r == 0 else { throw failure("bind", host, port) }
                _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
                bound = Int(UInt16(bigEndian: addr.sin_port))
            }
            // Listening now lets connections queue until grpc-swift's server takes the socket over.
            guard listen(fd, 256) == 0 else { throw failure("listen", host, port) }
        } catch {
            close(fd)
            throw error
        }
        return (fd, bound)
    }

    private static func failure(_ call: String, _ host: String, _ port: Int) -> MicroError {
        let reason = String(cString: strerror(errno))
        return .internalServerError("go.micro.transport", "cannot listen on \(host):\(port): \(call): \(reason)")
    }

    private static func notAnIP(_ host: String, _ port: Int) -> MicroError {
        .badRequest("go.micro.transport", "cannot listen on \(host):\(port): the host must be an IP address")
    }
}
