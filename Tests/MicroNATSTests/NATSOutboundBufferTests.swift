import NIOCore
import MicroTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import MicroNATS
@testable import NATSClient

extension NATSSuite {
    /// The outbound buffer on its own: frames written in place, partial writes to a full socket, control frames
    /// through `ByteBuffer`'s API in between, and taking what is left as plain bytes.
    @Suite struct NATSOutboundBufferTests {
        /// Reads everything available from a non-blocking descriptor.
        static func drain(_ descriptor: CInt, into received: inout [UInt8]) {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
                guard n > 0 else { return }
                received += chunk[0..<n]
            }
        }

        /// Bytes sent on the pair but not read yet.
        static func backlog(_ descriptor: CInt) -> Int {
            var pending: CInt = 0
            _ = ioctl(descriptor, UInt(FIONREAD), &pending)
            return Int(pending)
        }

        @Test func framesGoOutWholeAndInOrderThroughPartialWrites() throws {
            var pair: [CInt] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            defer { close(pair[0]); close(pair[1]) }
            for descriptor in pair { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
            var small: CInt = 4096
            _ = setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<CInt>.size))
            let socket = try #require(NATSSocket.duplicate(pair[0]))

            var buffer = NATSOutboundBuffer()
            var expected: [UInt8] = []
            var received: [UInt8] = []
            var rng = SeededGenerator(seed: 42)
            var partial = 0
            for round in 0..<400 {
                let size = [0, 100, 1024, 5000, 70_000].randomElement(using: &rng)!
                let frame = Array("PUB s.\(round) \(size)\r\n".utf8) + (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) } + [13, 10]
                if round % 7 == 3 {
                    // A control frame through ByteBuffer's API, between frames written in place.
                    buffer.withBuffer { _ = $0.writeBytes(frame) }
                } else {
                    buffer.write(length: frame.count) { base in frame.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: frame.count) } }
                }
                expected += frame
                if Int.random(in: 0..<3, using: &rng) < 2 {
                    let before = buffer.readableBytes
                    guard case .wrote(let count) = buffer.write(to: socket) else {
                        Issue.record("write failed")
                        return
                    }
                    if count < before { partial += 1 }
                }
                #expect(buffer.readableBytes == expected.count - received.count - Self.backlog(pair[1]))
                Self.drain(pair[1], into: &received)
            }
            #expect(partial > 0, "the socket never filled")
            // Half of what is left written, the rest taken as plain bytes.
            _ = buffer.write(to: socket)
            Self.drain(pair[1], into: &received)
            let rest = buffer.take(replacingWith: ByteBuffer())
            #expect(buffer.readableBytes == 0)
            received += Array(rest.readableBytesView)
            #expect(received.count == expected.count)
            #expect(received == expected)
        }
    }
}
