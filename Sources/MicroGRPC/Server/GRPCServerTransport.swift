import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import MicroAddress
import MicroCore
import NIOConcurrencyHelpers
import NIOCore

/// The gRPC server transport (node metadata `protocol=grpc`): grpc-swift-2's HTTP/2 server
/// (plaintext h2c, TLS or mTLS) in front of the router.
///
/// Every endpoint `Service.Method` answers on go-micro's alias `/<service name>.Service/Method`
/// and, for protobuf-first methods (registered with a method descriptor), on its proto path
/// `/<package>.Service/Method`. Messages stay bytes until the router's codec for the content type
/// reads them: `application/grpc` and `+proto` are protobuf, `+json` is JSON. The transport also
/// serves `grpc.health.v1.Health` and server reflection.
public final class GRPCServerTransport: MicroCore.ServerTransport {
    public let protocolName = "grpc"
    /// Limits, TLS and the standard services.
    public let configuration: GRPCServerConfiguration
    private let serviceName: String?
    private let logger: Logger

    /// A transport; `serviceName` (for the alias paths) defaults to the router's.
    public init(configuration: GRPCServerConfiguration = GRPCServerConfiguration(), serviceName: String? = nil,
                logger: Logger = Logger(label: "micro.grpc.server")) {
        self.configuration = configuration
        self.serviceName = serviceName
        self.logger = logger
    }

    public func listen(on address: String, handler: any RPCHandler) async throws -> any TransportListener {
        let bind = try HostPort.transportAddress(address.isEmpty ? "127.0.0.1:0" : address)
        let (host, port) = (bind.host, bind.port)
        let gates = GRPCStreamGates()
        let dispatcher = GRPCServerDispatcher(handler: handler, serviceName: serviceName, configuration: configuration, gates: gates,
                                              logger: logger)
        if configuration.healthService {
            dispatcher.addBuiltin(GRPCHealthService(dispatcher: dispatcher, interval: configuration.healthWatchInterval))
        }
        if configuration.reflection {
            let routerSets = handler.serverDescription.extensions[GRPCDescriptorSets.self] ?? []
            let pool = GRPCDescriptorPool(sets: [GRPCDescriptorPool.bundled] + configuration.descriptorSets + routerSets)
            for name in GRPCReflectionService.names {
                dispatcher.addBuiltin(GRPCReflectionService(name: name, pool: pool, dispatcher: dispatcher))
            }
        }
        var context = GRPCServerContext()
        context.methods = dispatcher.refreshRoutes()

        var config = configuration.http2
        config.rpc.maxRequestPayloadSize = configuration.maxRequestMessageSize
        config.http2.maxConcurrentStreams = configuration.maxConcurrentStreams
        let previous = config.channelDebuggingCallbacks.onAcceptHTTP2Stream
        let limit = configuration.maxRequestMessageSize
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
            let added = channel.eventLoop.makeCompletedFuture {
                // The gate first (it only watches writability), the checker (its rejections go straight
                // out), then the rewriter.
                let state = GRPCServerStreamState()
                let gate = GRPCStreamGate(eventLoop: channel.eventLoop)
                let gateID = gates.add(gate)
                channel.closeFuture.whenComplete { _ in gates.remove(gateID) }
                try channel.pipeline.syncOperations.addHandler(GRPCResponseHeadersRewriter(state: state), position: .first)
                try channel.pipeline.syncOperations.addHandler(GRPCRequestChecker(maxMessageSize: limit, state: state, gateID: gateID),
                                                               position: .first)
                try channel.pipeline.syncOperations.addHandler(gate, position: .first)
                GRPCIdleConnectionCloser.track(channel)
            }
            guard let previous else { return added }
            return added.flatMap { previous(channel) }
        }
        if let idle = configuration.idleConnectionTimeout {
            let previousConnection = config.channelDebuggingCallbacks.onAcceptTCPConnection
            config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
                let added = channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GRPCIdleConnectionCloser(timeout: TimeAmount(idle)))
                }
                guard let previousConnection else { return added }
                return added.flatMap { previousConnection(channel) }
            }
        }
        let socket = try GRPCListeningSocket.bind(host: host, port: port)
        let transport = HTTP2ServerTransport.Posix(listeningSocketDescriptor: Int(socket.descriptor),
                                                   transportSecurity: configuration.transportSecurity,
                                                   config: config, eventLoopGroup: configuration.eventLoopGroup)
        transport.configure(context: context)
        let advertised = host.contains(":") ? "[\(host)]:\(socket.port)" : "\(host):\(socket.port)"
        return GRPCListener(address: advertised, transport: transport, descriptor: socket.descriptor, dispatcher: dispatcher)
    }
}

/// A bound gRPC server: `run` serves (grpc-swift's `listen` takes over the bound socket),
/// `shutdown` drains and, after the grace period, forces the rest closed.
final class GRPCListener: MicroCore.TransportListener {
    let address: String
    let transport: HTTP2ServerTransport.Posix
    let dispatcher: GRPCServerDispatcher
    private let descriptor: Int32
    private let state = NIOLockedValueBox<(started: Bool, finished: Bool)>((false, false))
    private let force = GRPCEvent()
    private let finished = GRPCEvent()

    init(address: String, transport: HTTP2ServerTransport.Posix, descriptor: Int32, dispatcher: GRPCServerDispatcher) {
        self.address = address
        self.transport = transport
        self.descriptor = descriptor
        self.dispatcher = dispatcher
    }

    func run() async throws {
        let first = state.withLockedValue { s -> Bool in
            defer { s.started = true }
            return !s.started && !s.finished
        }
        guard first else { return }
        defer { finished.signal() }
        let dispatcher = self.dispatcher, transport = self.transport, force = self.force
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await transport.listen { stream, context in
                        await dispatcher.handle(stream: stream, context: context)
                    }
                }
                group.addTask {
                    await force.wait()
                    throw CancellationError()
                }
                group.addTask { await dispatcher.deadlines.run() }
                defer { group.cancelAll() }
                do {
                    try await group.next()
                } catch is CancellationError where force.isSignalled {
                    // Shutdown's grace period is over: what was still open is closed.
                }
            }
        } catch {
            await dispatcher.answers.close()
            throw error
        }
        await dispatcher.answers.close()
    }

    /// Health turns NOT_SERVING and Watch streams end; the server stops accepting (GOAWAY) and lets
    /// calls in flight finish for up to `gracePeriod`, then closes every connection.
    func shutdown(gracePeriod: Duration) async {
        let started = state.withLockedValue { s -> Bool in
            defer { s.finished = true }
            return s.started
        }
        guard started else {
            // Never served: grpc-swift never took the socket over.
            _ = close(descriptor)
            return
        }
        dispatcher.beginDraining()
        transport.beginGracefulShutdown()
        if await !finished.wait(timeout: gracePeriod) {
            force.signal()
            await finished.wait()
        }
    }
}

/// A one-shot signal tasks can wait for.
final class GRPCEvent: Sendable {
    private let state = NIOLockedValueBox<(signalled: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>], next: UInt64)>((false, [:], 0))

    var isSignalled: Bool { state.withLockedValue { $0.signalled } }

    func signal() {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            guard !s.signalled else { return [] }
            s.signalled = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Returns once signalled, or when the waiting task is cancelled.
    func wait() async {
        let id = state.withLockedValue { s -> UInt64 in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resume = state.withLockedValue { s -> Bool in
                    if s.signalled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resume { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Waits up to `timeout`; true when signalled.
    func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.wait()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || isSignalled
        }
    }
}

/// `host:port` addresses (IPv6 in brackets; `localhost` is 127.0.0.1).
