import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One keep-alive HTTP/1.1 connection to 127.0.0.1 on a blocking socket (5 s send and receive
/// timeouts): a request out, its whole answer in. For the peer benchmarks' sanity calls and the memory
/// benchmark's idle connections, where a file descriptor per connection and no event loop is the point.
/// The answer is untrusted: heads are bounded to 64 KiB, bodies to 1 MiB and need `Content-Length`.
/// Safety: used by one thread at a time.
final class BlockingHTTPConnection: @unchecked Sendable {
    /// A response: status code, headers as sent (names lowercased), body.
    struct Answer: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }
    }

    static let maxHead = 64 * 1024
    static let maxBody = 1 << 20

    private var fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw BenchError("connect to 127.0.0.1:\(port): \(reason)")
        }
    }

    deinit { close() }

    /// Closes the socket (once).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends `request` (a whole encoded HTTP/1.1 request) and reads its answer.
    func call(_ request: [UInt8]) throws -> Answer {
        try request.withUnsafeBytes { bytes in
            var off = 0
            while off < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
                guard n > 0 else { throw BenchError("write: \(String(cString: strerror(errno)))") }
                off += n
            }
        }
        return try readAnswer()
    }

    private func readAnswer() throws -> Answer {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let range = buffer.firstRange(of: separator) { headEnd = range.lowerBound; break }
            guard buffer.count <= Self.maxHead else { throw BenchError("an HTTP head over \(Self.maxHead) bytes") }
            try fill()
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).makeIterator()
        let statusParts = (lines.next() ?? "").split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw BenchError("not an HTTP/1.1 status line: \(head.prefix(80))")
        }
        var headers: [(name: String, value: String)] = []
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { throw BenchError("malformed header line: \(line.prefix(80))") }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let answer = Answer(status: status, headers: headers, body: [])
        guard let lengthText = answer.header("content-length"), let length = Int(lengthText), length >= 0, length <= Self.maxBody else {
            throw BenchError("an answer without a Content-Length of at most \(Self.maxBody) bytes")
        }
        let bodyStart = headEnd! + separator.count
        while buffer.count < bodyStart + length { try fill() }
        var result = answer
        result.body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        return result
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { throw BenchError(n == 0 ? "the server closed the connection" : "read: \(String(cString: strerror(errno)))") }
        buffer.append(contentsOf: chunk[0..<n])
    }
}
