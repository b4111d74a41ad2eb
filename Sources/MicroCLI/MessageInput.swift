import Foundation
import Micro

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A message argument of `micro call` and `micro publish`: the JSON itself, `-` for stdin, or
/// `@path` for a file. What is read is bounded by the transport's message limit and must be JSON.
enum MessageInput {
    /// The most bytes read: the HTTP transport's default `maxMessageSize` (4 MiB); a larger message
    /// would be refused by the transport anyway.
    static let limit = HTTPTransportConfiguration().maxMessageSize

    /// The body `argument` names, checked to be JSON; `nil` reads stdin.
    static func body(_ argument: String?) throws -> ByteBuffer {
        guard let argument, argument != "-" else { return try jsonBody(readAll(STDIN_FILENO, from: "stdin")) }
        guard argument.hasPrefix("@") else { return try jsonBody(argument) }
        let path = String(argument.dropFirst())
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw cannotRead(path, errno) }
        defer { close(fd) }
        return try jsonBody(readAll(fd, from: path))
    }

    /// The bytes `argument` names as they are (`micro store write`'s value): the text itself, `-` for
    /// stdin, `@path` for a file.
    static func bytes(_ argument: String) throws -> [UInt8] {
        if argument == "-" { return Array(try readAll(STDIN_FILENO, from: "stdin")) }
        guard argument.hasPrefix("@") else { return Array(argument.utf8) }
        let path = String(argument.dropFirst())
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw cannotRead(path, errno) }
        defer { close(fd) }
        return Array(try readAll(fd, from: path))
    }

    /// Reads `fd` to its end, failing once more than ``limit`` bytes arrive.
    private static func readAll(_ fd: CInt, from name: String) throws -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return data }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK {
                    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    _ = poll(&p, 1, 1000)
                    continue
                }
                throw cannotRead(name, code)
            }
            data.append(contentsOf: chunk[0..<n])
            guard data.count <= limit else {
                throw MicroError.tooLarge("micro", "the message in \(name) is larger than \(limit) bytes (the transport's maxMessageSize)")
            }
        }
    }

    private static func cannotRead(_ name: String, _ code: CInt) -> MicroError {
        .badRequest("micro", "cannot read \(name): \(String(cString: strerror(code)))")
    }
}
