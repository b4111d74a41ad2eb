#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard output or standard error, written with `write(2)` so a failure is an error to handle:
/// Foundation's `FileHandle.write(_:)` traps on EPIPE (the reader went away) and ENOSPC (`/dev/full`).
package enum StandardStream: Sendable {
    case output
    case error

    private var descriptor: CInt { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes every byte, retrying on EINTR and waiting for room on EAGAIN (a non-blocking descriptor);
    /// throws ``StandardStreamError`` for anything else.
    package func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n >= 0 {
                    offset += n
                    continue
                }
                let code = errno
                switch code {
                case EINTR:
                    continue
                case EAGAIN, EWOULDBLOCK:
                    var fd = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&fd, 1, 1000)
                default:
                    throw StandardStreamError(stream: self, code: code)
                }
            }
        }
    }

    /// Writes `line` and a newline to standard error, ignoring failure (there is nowhere left to report it).
    package static func report(_ line: String) {
        try? StandardStream.error.write(line + "\n")
    }

    /// Ignores SIGPIPE for the process, so a write to a pipe nobody reads fails with EPIPE instead of
    /// ending the process (SwiftNIO does the same when it opens its first socket).
    package static func ignoreBrokenPipeSignal() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}

private func systemWrite(_ fd: CInt, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
    #elseif canImport(Musl)
    Musl.write(fd, bytes, count)
    #else
    Darwin.write(fd, bytes, count)
    #endif
}

/// A write to standard output or standard error failed.
package struct StandardStreamError: Error, CustomStringConvertible, Sendable {
    /// The stream written to.
    package var stream: StandardStream
    /// The `errno` of the failed write.
    package var code: CInt

    /// The reader went away (EPIPE): nothing is wrong with what was written.
    package var isBrokenPipe: Bool { code == EPIPE }

    package var description: String {
        "cannot write to standard \(stream == .output ? "output" : "error"): \(String(cString: strerror(code)))"
    }
}
