import NIOConcurrencyHelpers
import NIOCore

/// A transport inside one process: listeners are addresses in a shared table, calls are function
/// calls. For unit tests and single-process programs; it enforces deadlines like a network one.
public final class MemoryTransport: ClientTransport, ServerTransport {
    public let protocolName = "mucp"
    /// A listening address: its handler, and the streams it serves (ended by the listener's shutdown).
    private struct Bound: Sendable {
        let handler: any RPCHandler
        let streams: OwnedTasks
    }

    private let listeners = NIOLockedValueBox<(next: Int, bound: [String: Bound])>((0, [:]))

    /// An empty transport; clients and servers that share this instance reach each other.
    public init() {}

    public func listen(on address: String, handler: any RPCHandler) async throws -> any TransportListener {
        let streams = OwnedTasks()
        let bound: String = listeners.withLockedValue { s in
            var a = address
            if a.isEmpty || a.hasSuffix(":0") { s.next += 1; a = "memory:\(s.next)" }
            s.bound[a] = Bound(handler: handler, streams: streams)
            return a
        }
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        return MemoryListener(address: bound, stopped: stopped, stop: stop, streams: streams) { [weak self] in
            _ = self?.listeners.withLockedValue { $0.bound.removeValue(forKey: bound) }
        }
    }

    private func bound(_ address: String) throws -> Bound {
        guard let b = listeners.withLockedValue({ $0.bound[address] }) else {
            throw TransportError(.connectFailed, address: address, detail: "no listener")
        }
        return b
    }

    public func call(_ request: RPCRequest, to address: String) async throws -> RPCResponse {
        let h = try bound(address).handler
        let result = try await withDeadline(request.deadline, address: address) { await h.handle(request) }
        return try result.get()
    }

    public func openStream(_ request: RPCRequest, to address: String) async throws -> any ClientStreamChannel {
        let server = try bound(address)
        let h = server.handler
        let (toServer, toServerC) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let (toClient, toClientC) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let inbound = LockedIterator(toServer)
        let spawned = server.streams.spawn {
            let error = await h.handleStream(request, inbound: MessageReader { try await inbound.next() },
                                             outbound: MessageWriter { toClientC.yield($0) })
            if let error { toClientC.finish(throwing: error) } else { toClientC.finish() }
        }
        guard let spawned else { throw TransportError(.connectFailed, address: address, detail: "the listener is shutting down") }
        let streams = server.streams
        return MemoryStreamChannel(send: toServerC, receive: LockedIterator(toClient), cancelHandler: { streams.cancel(spawned) })
    }

    public func shutdown() async {}

    func withDeadline<T: Sendable>(_ deadline: NIODeadline?, address: String, _ body: @escaping @Sendable () async -> T) async throws -> T {
        guard let deadline else { return await body() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                let ns = deadline.uptimeNanoseconds > NIODeadline.now().uptimeNanoseconds ? deadline.uptimeNanoseconds - NIODeadline.now().uptimeNanoseconds : 0
                try await Task.sleep(nanoseconds: ns)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TransportError(.timeout, address: address, detail: "deadline exceeded")
            }
            return value
        }
    }
}

/// An iterator shared behind a lock; only one reader uses it at a time.
/// Safety: a stream has one reader at a time (the handler, or the caller's receive loop).
final class LockedIterator: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
    init(_ stream: AsyncThrowingStream<ByteBuffer, any Error>) { iterator = stream.makeAsyncIterator() }
    func next() async throws -> ByteBuffer? { try await iterator.next() }
}

struct MemoryStreamChannel: ClientStreamChannel {
    let send: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    let receive: LockedIterator
    let cancelHandler: @Sendable () -> Void
    func send(_ message: ByteBuffer) async throws { send.yield(message) }
    func finishSending() async throws { send.finish() }
    func receive() async throws -> ByteBuffer? { try await receive.next() }
    func cancel() { cancelHandler(); send.finish() }
}

struct MemoryListener: TransportListener {
    let address: String
    let stopped: AsyncStream<Void>
    let stop: AsyncStream<Void>.Continuation
    let streams: OwnedTasks
    let remove: @Sendable () -> Void
    func run() async throws {
        for await _ in stopped {}
    }
    /// Takes no new calls, lets streams in flight finish for up to `gracePeriod`, then cancels the rest.
    func shutdown(gracePeriod: Duration) async {
        remove()
        let clock = ContinuousClock()
        let deadline = clock.now + gracePeriod
        while streams.count > 0, clock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        await streams.close()
        stop.finish()
    }
}
