import NIOConcurrencyHelpers
import NIOCore

/// A transport inside one process: listeners are addresses in a shared table, calls are function
/// calls. For unit tests and single-process programs; it enforces deadlines like a network one.
public final class MemoryTransport: ClientTransport, ServerTransport {
    public let protocolName = "mucp"
    private let listeners = NIOLockedValueBox<(next: Int, handlers: [String: any RPCHandler])>((0, [:]))

    /// An empty transport; clients and servers that share this instance reach each other.
    public init() {}

    public func listen(on address: String, handler: any RPCHandler) async throws -> any TransportListener {
        let bound: String = listeners.withLockedValue { s in
            var a = address
            if a.isEmpty || a.hasSuffix(":0") { s.next += 1; a = "memory:\(s.next)" }
            s.handlers[a] = handler
            return a
        }
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        return MemoryListener(address: bound, stopped: stopped, stop: stop) { [weak self] in
            _ = self?.listeners.withLockedValue { $0.handlers.removeValue(forKey: bound) }
        }
    }

    private func handler(_ address: String) throws -> any RPCHandler {
        guard let h = listeners.withLockedValue({ $0.handlers[address] }) else {
            throw TransportError(.connectFailed, address: address, detail: "no listener")
        }
        return h
    }

    public func call(_ request: RPCRequest, to address: String) async throws -> RPCResponse {
        let h = try handler(address)
        let result = try await withDeadline(request.deadline, address: address) { await h.handle(request) }
        return try result.get()
    }

    public func openStream(_ request: RPCRequest, to address: String) async throws -> any ClientStreamChannel {
        let h = try handler(address)
        let (toServer, toServerC) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let (toClient, toClientC) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let inbound = LockedIterator(toServer)
        let task = Task {
            let error = await h.handleStream(request, inbound: MessageReader { try await inbound.next() },
                                             outbound: MessageWriter { toClientC.yield($0) })
            if let error { toClientC.finish(throwing: error) } else { toClientC.finish() }
        }
        return MemoryStreamChannel(send: toServerC, receive: LockedIterator(toClient), task: task)
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
    let task: Task<Void, Never>
    func send(_ message: ByteBuffer) async throws { send.yield(message) }
    func finishSending() async throws { send.finish() }
    func receive() async throws -> ByteBuffer? { try await receive.next() }
    func cancel() { task.cancel(); send.finish() }
}

struct MemoryListener: TransportListener {
    let address: String
    let stopped: AsyncStream<Void>
    let stop: AsyncStream<Void>.Continuation
    let remove: @Sendable () -> Void
    func run() async throws {
        for await _ in stopped {}
    }
    func shutdown(gracePeriod: Duration) async {
        remove()
        stop.finish()
    }
}
