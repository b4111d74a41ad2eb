import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The baseline for `micro-bench nats`: a blocking TCP socket that speaks just enough of the NATS
/// protocol by hand (CONNECT, pre-encoded PUB frames, SUB, MSG parsing) — no client library at all.
/// Safety: each socket is read and written by one thread at a time; `shutdownBoth()` is a plain syscall.
final class RawNATSSocket: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var readChunk = [UInt8](repeating: 0, count: 256 * 1024)

    /// Connects to 127.0.0.1:`port`, reads INFO, sends CONNECT and waits for the PONG of a PING.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket() failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw BenchError("connect to NATS on \(port) failed") }
        _ = try readLine()   // INFO
        try write(Array("CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n".utf8))
        try ping()
    }

    deinit { close(fd) }

    /// Shuts the socket down, waking a thread blocked reading it.
    func shutdownBoth() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, base + off, bytes.count - off)
            guard n > 0 else { throw BenchError("write to NATS failed") }
            off += n
        }
    }

    /// PING, then reads until PONG (answering the server's PINGs): everything sent before was processed.
    func ping() throws {
        try write(Array("PING\r\n".utf8))
        while true {
            let line = try readLine()
            if line == "PONG" { return }
            if line == "PING" { try write(Array("PONG\r\n".utf8)) }
            if line.hasPrefix("-ERR") { throw BenchError("NATS said \(line)") }
        }
    }

    /// The next MSG's reply subject and payload size (payload skipped), answering PINGs on the way.
    func nextMessage() throws -> (reply: String?, size: Int) {
        while true {
            let line = try readLine()
            if line.hasPrefix("MSG ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4 || parts.count == 5, let size = Int(parts[parts.count - 1]) else { throw BenchError("bad MSG line \(line)") }
                try skip(size + 2)
                return (parts.count == 5 ? String(parts[3]) : nil, size)
            }
            if line == "PING" { try write(Array("PONG\r\n".utf8)); continue }
            if line.hasPrefix("-ERR") { throw BenchError("NATS said \(line)") }
        }
    }

    private func fill() throws {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        let n = readChunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { throw BenchError("NATS connection closed") }
        buffer.append(contentsOf: readChunk[0..<n])
    }

    private func readLine() throws -> String {
        while true {
            if let cr = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = cr
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = cr + 1
                return line
            }
            if start > 0 { buffer.removeFirst(start); start = 0 }
            try fill()
        }
    }

    private func skip(_ count: Int) throws {
        while buffer.count - start < count {
            if start > 0 { buffer.removeFirst(start); start = 0 }
            try fill()
        }
        start += count
    }
}
