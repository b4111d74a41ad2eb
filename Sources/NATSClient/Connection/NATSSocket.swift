import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The connection's TCP socket as seen by its publishers: a second descriptor of the socket the
/// channel reads from, so frames can be written straight from the publishing thread.
///
/// Handing every frame to the event loop first costs a thread wake-up per write: most of a
/// request's latency, and a good part of a publisher's time. The channel keeps reading (and writes
/// whatever the socket did not take at once, see ``NATSConnection``); who writes is decided under
/// the connection's outbound lock, so bytes never interleave. Closed when released.
final class NATSSocket: Sendable {
    let descriptor: CInt

    private init(descriptor: CInt) {
        self.descriptor = descriptor
    }

    deinit {
        _ = close(descriptor)
    }

    /// A second descriptor for the socket `descriptor` (nil when the system refuses one).
    static func duplicate(_ descriptor: CInt) -> NATSSocket? {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        return copy >= 0 ? NATSSocket(descriptor: copy) : nil
    }

    #if canImport(Darwin)
    private static let sendFlags = CInt(MSG_DONTWAIT)   // SIGPIPE is off per socket (SO_NOSIGPIPE)
    #else
    private static let sendFlags = CInt(MSG_NOSIGNAL) | CInt(MSG_DONTWAIT)
    #endif

    /// What a non-blocking write did.
    enum WriteResult {
        /// How many bytes the socket took (all, or fewer when its buffer is full).
        case wrote(Int)
        /// The connection is broken (the channel will see it too).
        case failed(CInt)
    }

    /// Writes as much of `bytes` as the socket takes now, without blocking.
    func write(_ bytes: UnsafeRawBufferPointer) -> WriteResult {
        guard let base = bytes.baseAddress else { return .wrote(0) }
        var written = 0
        while written < bytes.count {
            let n = send(descriptor, base + written, bytes.count - written, Self.sendFlags)
            if n > 0 {
                written += n
                continue
            }
            let error = errno
            if n < 0, error == EINTR { continue }
            if n < 0, error == EAGAIN || error == EWOULDBLOCK { break }
            return .failed(n == 0 ? EPIPE : error)
        }
        return .wrote(written)
    }

    /// Connects a TCP socket to `host`:`port` (each address it resolves to in turn), within `timeout`; blocks.
    ///
    /// Returns the connected descriptor (close-on-exec, non-blocking, `TCP_NODELAY`), for the channel to take over.
    static func connect(host: String, port: Int, timeout: Duration) throws -> CInt {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw NATSError(.connectFailed, "\(host):\(port): cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        let deadline = ContinuousClock.now + timeout
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            switch attempt(info.pointee, until: deadline) {
            case .connected(let descriptor): return descriptor
            case .failed(let reason): lastError = reason
            }
            if ContinuousClock.now >= deadline { break }
        }
        throw NATSError(.connectFailed, "\(host):\(port): \(lastError)")
    }

    private enum Attempt {
        case connected(CInt)
        case failed(String)
    }

    private static func attempt(_ info: addrinfo, until deadline: ContinuousClock.Instant) -> Attempt {
        #if canImport(Darwin)
        let descriptor = socket(info.ai_family, SOCK_STREAM, 0)
        #else
        let descriptor = socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        #endif
        guard descriptor >= 0 else { return .failed(describe(errno)) }
        var one: CInt = 1
        #if canImport(Darwin)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<CInt>.size))
        #endif
        _ = setsockopt(descriptor, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
        if systemConnect(descriptor, info.ai_addr, info.ai_addrlen) == 0 { return .connected(descriptor) }
        var error = errno
        guard error == EINPROGRESS || error == EINTR else {
            _ = close(descriptor)
            return .failed(describe(error))
        }
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                _ = close(descriptor)
                return .failed("connect timed out")
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let milliseconds = max(1, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            if ready <= 0 { continue }
            var length = socklen_t(MemoryLayout<CInt>.size)
            error = 0
            _ = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return .connected(descriptor) }
            _ = close(descriptor)
            return .failed(describe(error))
        }
    }

    private static func describe(_ error: CInt) -> String {
        String(cString: strerror(error))
    }
}

/// `connect(2)` (the name is taken by ``NATSSocket/connect(host:port:timeout:)`` inside the class).
private func systemConnect(_ descriptor: CInt, _ address: UnsafeMutablePointer<sockaddr>!, _ length: socklen_t) -> CInt {
    connect(descriptor, address, length)
}
