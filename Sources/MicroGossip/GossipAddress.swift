import MicroAddress
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Conversions between memberlist's packed IPs (4 or 16 bytes) and text and socket addresses.
enum GossipAddress {
    /// The packed bytes of a numeric IPv4 or IPv6 address; nil for anything else.
    static func pack(_ ip: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, ip, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// The text form of packed bytes (nil unless 4 or 16 bytes).
    static func text(_ packed: [UInt8]) -> String? {
        if packed.count == 4 { return packed.map(String.init).joined(separator: ".") }
        guard packed.count == 16 else { return nil }
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = packed.withUnsafeBytes { raw in inet_ntop(AF_INET6, raw.baseAddress, &out, socklen_t(out.count)) != nil }
        guard ok else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The socket address of packed bytes and a port.
    static func socket(_ packed: [UInt8], _ port: UInt16) -> SocketAddress? {
        guard let t = text(packed) else { return nil }
        return try? SocketAddress(ipAddress: t, port: Int(port))
    }

    /// `host:port` (`[v6]:port`) of packed bytes and a port.
    static func hostPort(_ packed: [UInt8], _ port: UInt16) -> String {
        guard let t = text(packed) else { return "?:\(port)" }
        return HostPort(host: t, port: Int(port)).description
    }

    /// A member's address as ``HostPort`` reads it, with gossip's defaults: port 7946 when missing,
    /// 127.0.0.1 when only a port is given.
    static func parse(_ address: String) throws(GossipError) -> HostPort {
        do {
            return try HostPort(parsing: address, defaultPort: 7946, defaultHost: HostPort.loopback)
        } catch {
            throw GossipError(.invalidAddress, "\(error)")
        }
    }

    /// Resolves `host:port` (numeric, or a name looked up once).
    static func resolve(_ address: String) throws -> SocketAddress {
        let parsed = try parse(address)
        let (host, port) = (parsed.host, parsed.port)
        if let packed = pack(host), let s = socket(packed, UInt16(port)) { return s }
        do {
            return try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw GossipError(.invalidAddress, "\(address): \(error)")
        }
    }
}
