import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MicroAddress
import MicroCore
import NIOConcurrencyHelpers
import NIOCore

/// The gRPC client transport (`protocol=grpc` nodes): one grpc-swift-2 HTTP/2 connection per node
/// address, calls and streams as raw messages in the codec's content type (`application/json` goes
/// as `application/grpc+json`, protobuf as `application/grpc`).
///
/// The path is go-micro's: endpoint `Service.Method` of service `greeter` calls
/// `/greeter.Service/Method`; an endpoint `pkg.Service.Method` or `/pkg.Service/Method` calls that
/// proto path as it is (for servers built from a .proto with another package).
///
/// Failures: a status the server sent becomes its MicroError (intact when the server carried one);
/// a node that cannot be reached is `TransportError.connectFailed` (nothing was sent, so the client
/// tries another node), a connection lost mid-call `connectionClosed`, the deadline `timeout`.
public final class GRPCClientTransport: MicroCore.ClientTransport {
    public let protocolName = "grpc"
    /// Limits, TLS and connection settings.
    public let configuration: GRPCClientConfiguration
    private let connections = NIOLockedValueBox<[String: Connection]>([:])

    final class Connection: Sendable {
        let transport: HTTP2ClientTransport.Posix
        init(transport: HTTP2ClientTransport.Posix) {
            self.transport = transport
        }
    }

    /// Each connection's `connect()`, which runs until the connection has shut down.
    private let connecting = OwnedTasks()
    /// The calls' streams, each open until its call ends.
    private let streams = OwnedTasks()

    /// A transport with its own connection pool.
    public init(configuration: GRPCClientConfiguration = GRPCClientConfiguration()) {
        self.configuration = configuration
    }

    // MARK: Connections

    private func connection(_ address: String) throws -> Connection {
        if let c = connections.withLockedValue({ $0[address] }) { return c }
        let parsed = try HostPort.transportAddress(address)
        let (host, port) = (parsed.host, parsed.port)
        let target: any ResolvableTarget
        if host.contains(":") {
            target = .ipv6(address: host, port: port)
        } else if host.allSatisfy({ $0.isNumber || $0 == "." }) {
            target = .ipv4(address: host, port: port)
        } else {
            target = .dns(host: host, port: port)
        }
        var config = configuration.http2
        let previous = config.channelDebuggingCallbacks.onCreateHTTP2Stream
        config.channelDebuggingCallbacks.onCreateHTTP2Stream = { channel in
            let added = channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(GRPCClientContentTypeHandler(), position: .first)
            }
            guard let previous else { return added }
            return added.flatMap { previous(channel) }
        }
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: configuration.transportSecurity,
                                                       config: config, eventLoopGroup: configuration.eventLoopGroup)
        } catch {
            throw TransportError(.connectFailed, address: address, detail: "cannot set up a connection: \(error)")
        }
        let (connection, fresh) = connections.withLockedValue { pool -> (Connection, Bool) in
            if let existing = pool[address] { return (existing, false) }
            let c = Connection(transport: transport)
            pool[address] = c
            return (c, true)
        }
        if fresh, connecting.spawn({ try? await transport.connect() }) == nil {
            transport.beginGracefulShutdown()
            throw TransportError(.shutdown, address: address, detail: "the transport is shut down")
        }
        return connection
    }

    /// Drops a connection that failed to connect, so the next call to that node dials afresh.
    private func evict(_ address: String, _ connection: Connection) {
        let removed = connections.withLockedValue { pool -> Bool in
            guard pool[address] === connection else { return false }
            pool[address] = nil
            return true
        }
        if removed { connection.transport.beginGracefulShutdown() }
    }

    public func shutdown() async {
        let all = connections.withLockedValue { pool -> [Connection] in
            defer { pool = [:] }
            return Array(pool.values)
        }
        await streams.close()
        for c in all { c.transport.beginGracefulShutdown() }
        await connecting.close(cancelling: false)
    }

    // MARK: Requests

    private func descriptor(_ request: RPCRequest) -> MethodDescriptor {
        let path = GRPCMethodPath.clientPath(service: request.service, endpoint: request.endpoint)
        if let split = GRPCMethodPath.split(path) {
            return MethodDescriptor(fullyQualifiedService: split.qualifiedService, method: split.method)
        }
        return MethodDescriptor(fullyQualifiedService: request.service, method: request.endpoint)
    }

    private func callOptions() -> GRPCCore.CallOptions {
        var options = GRPCCore.CallOptions.defaults
        options.waitForReady = false
        // grpc-swift's HTTP/2 client bounds the messages it reads by this option.
        options.maxRequestMessageBytes = configuration.maxResponseMessageSize
        options.maxResponseMessageBytes = configuration.maxResponseMessageSize
        return options
    }

    static let reservedHeaders: Set<String> = ["content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding",
                                               "grpc-accept-encoding", "grpc-status", "grpc-message", "timeout", "x-content-type",
                                               GRPCStatusMapping.detailsKey, GRPCContentType.subtypeHeader]

    /// The request headers: caller metadata (lowercased), go-micro's `timeout` and `x-content-type`,
    /// `grpc-timeout`, the request id, and the content subtype.
    private func metadata(_ request: RPCRequest) -> GRPCCore.Metadata {
        var m = GRPCCore.Metadata()
        m.reserveCapacity(request.metadata.count + 5)
        for (key, value) in request.metadata {
            guard !key.hasPrefix(":"), !Self.reservedHeaders.contains(key), Self.isHeaderName(key) else { continue }
            if key.hasSuffix("-bin") {
                if let bytes = Data(base64Encoded: value) { m.addBinary(Array(bytes), forKey: key) }
            } else {
                m.addString(value, forKey: key)
            }
        }
        if let deadline = request.deadline {
            let left = max(1, (deadline - .now()).nanoseconds)
            m.addString(GRPCTimeout.encode(nanoseconds: left), forKey: "grpc-timeout")
            m.addString("\(left)", forKey: "timeout")
        }
        m.addString(request.contentType, forKey: "x-content-type")
        if !request.id.isEmpty, request.metadata["micro-id"] == nil { m.addString(request.id, forKey: "micro-id") }
        let subtype = GRPCContentType.subtype(forCodecContentType: request.contentType)
        if !subtype.isEmpty { m.addString(subtype, forKey: GRPCContentType.subtypeHeader) }
        return m
    }

    static func isHeaderName(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
        }
    }

    /// Response headers and trailers as the caller's metadata (reserved headers left out).
    static func responseMetadata(_ headers: GRPCCore.Metadata, _ trailers: GRPCCore.Metadata) -> MicroCore.Metadata {
        var out = MicroCore.Metadata()
        for (key, value) in headers where !key.hasPrefix(":") && !reservedHeaders.contains(key) { out[key] = value.text }
        for (key, value) in trailers where !key.hasPrefix(":") && !reservedHeaders.contains(key) { out[key] = value.text }
        return out
    }

    /// The response's codec content type: the request's (the server answers in the subtype it was asked).
    static func responseContentType(_ request: RPCRequest) -> String {
        GRPCContentType.codecContentType(subtype: GRPCContentType.subtype(forCodecContentType: request.contentType))
    }

    /// An error the grpc-swift transport threw, as the Client understands it.
    static func transportError(_ error: any Error, address: String, started: Bool) -> any Error {
        if error is MicroError || error is TransportError || error is CancellationError { return error }
        if let rpc = error as? RPCError {
            switch rpc.code {
            case .unavailable where !started:
                return TransportError(.connectFailed, address: address, detail: rpc.message)
            case .unavailable:
                return TransportError(.connectionClosed, address: address, detail: rpc.message)
            case .deadlineExceeded:
                return TransportError(.timeout, address: address, detail: rpc.message)
            case .resourceExhausted:
                return TransportError(.messageTooLarge, address: address, detail: rpc.message)
            default:
                return GRPCStatusMapping.microError(status: Status(code: Status.Code(rpc.code), message: rpc.message), trailers: rpc.metadata)
            }
        }
        return TransportError(started ? .connectionClosed : .connectFailed, address: address, detail: "\(error)")
    }

    /// A failed status as the caller sees it: the server's MicroError, or, for the limit grpc-swift
    /// enforces on what it reads (reported as an internal error), `messageTooLarge`.
    static func statusError(_ status: Status, _ trailers: GRPCCore.Metadata, address: String) -> any Error {
        if status.code == .internalError || status.code == .resourceExhausted, trailers[binaryValues: GRPCStatusMapping.detailsKey].first(where: { _ in true }) == nil,
           status.message.contains("exceeded the configured maximum payload size") {
            return TransportError(.messageTooLarge, address: address, detail: status.message)
        }
        return GRPCStatusMapping.microError(status: status, trailers: trailers)
    }

    // MARK: Unary

    public func call(_ request: RPCRequest, to address: String) async throws -> RPCResponse {
        guard request.body.readableBytes <= configuration.maxRequestMessageSize else {
            throw TransportError(.messageTooLarge, address: address,
                                 detail: "request of \(request.body.readableBytes) bytes exceeds the limit of \(configuration.maxRequestMessageSize)")
        }
        let connection = try connection(address)
        let descriptor = descriptor(request)
        let metadata = metadata(request)
        let options = callOptions()
        let started = NIOLockedValueBox(false)
        do {
            return try await Self.withDeadline(request.deadline, address: address) {
                try await connection.transport.withStream(descriptor: descriptor, options: options) { stream, _ in
                    started.withLockedValue { $0 = true }
                    try await stream.outbound.write(.metadata(metadata))
                    try await stream.outbound.write(.message(GRPCBytes(request.body.readableBytesView)))
                    await stream.outbound.finish()
                    var headers = GRPCCore.Metadata()
                    var body: ByteBuffer?
                    for try await part in stream.inbound {
                        switch part {
                        case .metadata(let m): headers = m
                        case .message(let bytes): body = bytes.withUnsafeBytes { ByteBuffer(bytes: $0) }
                        case .status(let status, let trailers):
                            guard status.code == .ok else { throw Self.statusError(status, trailers, address: address) }
                            guard let body else {
                                throw MicroError.internalServerError("go.micro.client", "\(request.endpoint): the server answered OK without a message")
                            }
                            return RPCResponse(contentType: Self.responseContentType(request),
                                               metadata: Self.responseMetadata(headers, trailers), body: body)
                        }
                    }
                    throw TransportError(.connectionClosed, address: address, detail: "the stream ended without a status")
                }
            }
        } catch {
            let mapped = Self.transportError(error, address: address, started: started.withLockedValue { $0 })
            if let t = mapped as? TransportError, t.code == .connectFailed { evict(address, connection) }
            throw mapped
        }
    }

    static func withDeadline<T: Sendable>(_ deadline: NIODeadline?, address: String,
                                          _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let deadline else { return try await body() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let left = (deadline - .now()).nanoseconds
                if left > 0 { try await Task.sleep(nanoseconds: UInt64(left)) }
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TransportError(.timeout, address: address, detail: "deadline exceeded")
            }
            return value
        }
    }

    // MARK: Streams

    public func openStream(_ request: RPCRequest, to address: String) async throws -> any ClientStreamChannel {
        let connection = try connection(address)
        let descriptor = descriptor(request)
        let metadata = metadata(request)
        let options = callOptions()
        let (opened, openedContinuation) = AsyncThrowingStream<GRPCClientStreamChannel.Box, any Error>.makeStream()
        let limit = configuration.maxRequestMessageSize
        let spawned = streams.spawn {
            do {
                try await connection.transport.withStream(descriptor: descriptor, options: options) { stream, _ in
                    try await stream.outbound.write(.metadata(metadata))
                    let box = GRPCClientStreamChannel.Box(stream: stream)
                    openedContinuation.yield(box)
                    openedContinuation.finish()
                    await box.waitUntilDone()
                }
                openedContinuation.finish()
            } catch {
                openedContinuation.finish(throwing: error)
            }
        }
        guard let spawned else { throw TransportError(.shutdown, address: address, detail: "the transport is shut down") }
        let streams = self.streams
        let cancelTask: @Sendable () -> Void = { streams.cancel(spawned) }
        let box: GRPCClientStreamChannel.Box
        do {
            var iterator = opened.makeAsyncIterator()
            guard let b = try await iterator.next() else { throw CancellationError() }
            box = b
        } catch {
            cancelTask()
            let mapped = Self.transportError(error, address: address, started: false)
            if let t = mapped as? TransportError, t.code == .connectFailed { evict(address, connection) }
            throw mapped
        }
        let channel = GRPCClientStreamChannel(box: box, cancel: cancelTask, address: address, maxMessageSize: limit,
                                              contentType: Self.responseContentType(request))
        if let deadline = request.deadline {
            let scheduled = configuration.eventLoopGroup.any().scheduleTask(deadline: deadline) { channel.expire() }
            box.onDone { scheduled.cancel() }
        }
        return channel
    }
}

extension GRPCCore.Metadata.Value {
    /// A string value as it is, a binary one base64-encoded.
    var text: String {
        switch self {
        case .string(let s): return s
        case .binary(let b): return Data(b).base64EncodedString()
        }
    }
}

/// The caller's side of a gRPC stream: sends go straight to the HTTP/2 stream (waiting while the
/// server does not read), receives read it one message at a time.
final class GRPCClientStreamChannel: MicroCore.ClientStreamChannel {
    typealias Stream = RPCStream<HTTP2ClientTransport.Posix.Inbound, HTTP2ClientTransport.Posix.Outbound>

    /// The open stream, handed out of grpc-swift's `withStream` scope, which waits for `done`.
    final class Box: @unchecked Sendable {
        // Safety: `iterator` is used by one receiver at a time (a stream has one reader); the rest is locked.
        let outbound: HTTP2ClientTransport.Posix.Outbound
        var iterator: HTTP2ClientTransport.Posix.Inbound.AsyncIterator
        private let state = NIOLockedValueBox<(done: Bool, waiter: CheckedContinuation<Void, Never>?, callbacks: [@Sendable () -> Void])>((false, nil, []))

        init(stream: Stream) {
            outbound = stream.outbound
            iterator = stream.inbound.makeAsyncIterator()
        }

        func waitUntilDone() async {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resume = state.withLockedValue { s -> Bool in
                        if s.done { return true }
                        s.waiter = c
                        return false
                    }
                    if resume { c.resume() }
                }
            } onCancel: {
                self.markDone()
            }
        }

        func markDone() {
            let (waiter, callbacks) = state.withLockedValue { s -> (CheckedContinuation<Void, Never>?, [@Sendable () -> Void]) in
                guard !s.done else { return (nil, []) }
                s.done = true
                defer { s.waiter = nil; s.callbacks = [] }
                return (s.waiter, s.callbacks)
            }
            waiter?.resume()
            for c in callbacks { c() }
        }

        func onDone(_ callback: @escaping @Sendable () -> Void) {
            let now = state.withLockedValue { s -> Bool in
                if s.done { return true }
                s.callbacks.append(callback)
                return false
            }
            if now { callback() }
        }
    }

    private struct State {
        var finished = false
        var failure: (any Error)?
        var headers = GRPCCore.Metadata()
    }

    let box: Box
    let cancelTask: @Sendable () -> Void
    let address: String
    let maxMessageSize: Int
    let contentType: String
    private let state = NIOLockedValueBox(State())

    init(box: Box, cancel: @escaping @Sendable () -> Void, address: String, maxMessageSize: Int, contentType: String) {
        self.box = box
        self.cancelTask = cancel
        self.address = address
        self.maxMessageSize = maxMessageSize
        self.contentType = contentType
    }

    func send(_ message: ByteBuffer) async throws {
        guard message.readableBytes <= maxMessageSize else {
            throw TransportError(.messageTooLarge, address: address,
                                 detail: "message of \(message.readableBytes) bytes exceeds the limit of \(maxMessageSize)")
        }
        if let failure = state.withLockedValue({ $0.failure }) { throw failure }
        do {
            try await box.outbound.write(.message(GRPCBytes(message.readableBytesView)))
        } catch {
            throw GRPCClientTransport.transportError(error, address: address, started: true)
        }
    }

    func finishSending() async throws {
        await box.outbound.finish()
    }

    func receive() async throws -> ByteBuffer? {
        let (finished, failure) = state.withLockedValue { ($0.finished, $0.failure) }
        if let failure { throw failure }
        if finished { return nil }
        do {
            while true {
                switch try await box.iterator.next() {
                case .metadata(let m)?:
                    state.withLockedValue { $0.headers = m }
                case .message(let bytes)?:
                    return bytes.withUnsafeBytes { ByteBuffer(bytes: $0) }
                case .status(let status, let trailers)?:
                    if status.code == .ok {
                        state.withLockedValue { $0.finished = true }
                        box.markDone()
                        return nil
                    }
                    throw GRPCClientTransport.statusError(status, trailers, address: address)
                case nil:
                    throw TransportError(.connectionClosed, address: address, detail: "the stream ended without a status")
                }
            }
        } catch {
            let mapped = state.withLockedValue { s -> any Error in
                let e = s.failure ?? GRPCClientTransport.transportError(error, address: address, started: true)
                s.failure = e
                s.finished = true
                return e
            }
            box.markDone()
            throw mapped
        }
    }

    func cancel() {
        state.withLockedValue { s in
            if !s.finished, s.failure == nil { s.failure = MicroError(id: "go.micro.client", code: 499, detail: "stream cancelled") }
            s.finished = true
        }
        box.markDone()
        cancelTask()
    }

    /// The deadline passed: the stream fails with a timeout and is reset.
    func expire() {
        state.withLockedValue { s in
            if !s.finished, s.failure == nil { s.failure = TransportError(.timeout, address: address, detail: "deadline exceeded") }
        }
        box.markDone()
        cancelTask()
    }
}
