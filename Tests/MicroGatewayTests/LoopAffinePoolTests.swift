import MicroCore
@testable import MicroHTTP
import NIOCore
import NIOPosix
import Testing

/// The gateway serves each connection's requests on that connection's event loop
/// (`LoopBoundChildChannel`: the task prefers an `EventLoopTaskExecutor` of the loop), and the HTTP
/// client's pool then prefers a connection of that same loop, so a call through the gateway stays on
/// one thread. These tests drive the pool from tasks bound to a loop exactly as the gateway's are.
@Suite struct LoopAffinePoolTests {
    /// Acquires a connection from a task running on `loop` (nil: Swift's global executor).
    func acquire(_ pool: HTTPConnectionPool, _ address: String, on loop: (any EventLoop)?) async throws -> HTTPConnection {
        guard let loop else { return try await pool.acquire(address) }
        return try await withTaskExecutorPreference(EventLoopTaskExecutor.of(loop)) { try await pool.acquire(address) }
    }

    @Test func poolPrefersAConnectionOfTheCallersEventLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (a, b) = (group.next(), group.next())
        #expect(a !== b)
        // A listener that accepts connections and never reads: the pool only needs them open.
        let listener = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let address = "127.0.0.1:\(try #require(listener.localAddress?.port))"
        let pool = HTTPConnectionPool(configuration: HTTPTransportConfiguration())

        // New connections are made on the caller's loop.
        let onA = try await acquire(pool, address, on: a)
        let onB = try await acquire(pool, address, on: b)
        #expect(onA.channel.eventLoop === a)
        #expect(onB.channel.eventLoop === b)
        pool.release(onA, reusable: true)
        pool.release(onB, reusable: true)

        // A caller on `a` gets a's connection although b's went idle more recently, and the other way round.
        let againA = try await acquire(pool, address, on: a)
        #expect(againA === onA)
        let againB = try await acquire(pool, address, on: b)
        #expect(againB === onB)
        pool.release(againA, reusable: true)
        pool.release(againB, reusable: true)

        // A caller on no loop gets the most recently idle connection; one on a loop with no idle
        // connection of its own takes another loop's rather than opening a new one.
        let anywhere = try await acquire(pool, address, on: nil)
        #expect(anywhere === onB)
        let fromB = try await acquire(pool, address, on: b)
        #expect(fromB === onA)

        pool.release(anywhere, reusable: true)
        pool.release(fromB, reusable: true)
        pool.shutdown()
        try await listener.close()
        try await group.shutdownGracefully()
    }
}
