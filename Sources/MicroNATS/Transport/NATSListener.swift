import Foundation
import Logging
import MicroCore
import NATSClient
import NIOConcurrencyHelpers
import NIOCore

/// A listening subject: serves each call (and each stream opened) on it in a child task of ``run()``,
/// answering on the caller's reply subject. Shutdown unsubscribes, lets calls in flight finish for
/// the grace period, then cancels the rest.
final class NATSListener: TransportListener {
    let address: String
    private let connection: NATSConnection
    private let subscription: NATSSubscription
    private let handler: any RPCHandler
    private let configuration: NATSTransportConfiguration
    private let logger: Logger
    /// Closes the connection when the listener owns it.
    private let closeConnection: (@Sendable () async -> Void)?
    private let state = NIOLockedValueBox(State())

    private struct State {
        var running = false
        var stopping = false
        var finished = false
        var graceDeadline: ContinuousClock.Instant?
        var active = 0
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    init(address: String, connection: NATSConnection, subscription: NATSSubscription, handler: any RPCHandler,
         configuration: NATSTransportConfiguration, logger: Logger, closeConnection: (@Sendable () async -> Void)?) {
        self.address = address
        self.connection = connection
        self.subscription = subscription
        self.handler = handler
        self.configuration = configuration
        self.logger = logger
        self.closeConnection = closeConnection
    }

    /// Calls and streams being served.
    var activeCalls: Int { state.withLockedValue { $0.active } }

    func run() async throws {
        let start = state.withLockedValue { s -> Bool in
            guard !s.running, !s.stopping else { return false }
            s.running = true
            return true
        }
        guard start else { return }
        defer {
            let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
                s.finished = true
                defer { s.finishWaiters = [] }
                return s.finishWaiters
            }
            for w in waiters { w.resume() }
        }
        await withDiscardingTaskGroup { group in
            for await message in subscription {
                let admitted = state.withLockedValue { s -> Bool in
                    guard s.active < configuration.maxConcurrentCalls else { return false }
                    s.active += 1
                    return true
                }
                guard admitted else {
                    await refuse(message)
                    continue
                }
                group.addTask {
                    await self.serve(message)
                    self.state.withLockedValue { $0.active -= 1 }
                }
            }
            // Unsubscribed (or cancelled, or the connection closed): calls in flight get the grace
            // period, then are cancelled.
            try? subscription.unsubscribe()
            while true {
                let (active, deadline) = state.withLockedValue { ($0.active, $0.graceDeadline) }
                if active == 0 { break }
                if let deadline, ContinuousClock.now >= deadline { break }
                try? await Task.sleep(for: .milliseconds(5))
                if Task.isCancelled { break }
            }
            group.cancelAll()
        }
    }

    func shutdown(gracePeriod: Duration) async {
        let (wasRunning, first) = state.withLockedValue { s -> (Bool, Bool) in
            if s.stopping { return (s.running, false) }
            s.stopping = true
            s.graceDeadline = .now + gracePeriod
            return (s.running, true)
        }
        try? subscription.unsubscribe()
        if wasRunning {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let done = state.withLockedValue { s -> Bool in
                    if s.finished { return true }
                    s.finishWaiters.append(c)
                    return false
                }
                if done { c.resume() }
            }
        }
        if first { await closeConnection?() }
    }

    // MARK: Serving

    private func refuse(_ message: NATSMessage) async {
        guard let replyTo = message.replyTo, !replyTo.isEmpty else { return }
        let error = MicroError.unavailable("go.micro.server", "server busy: \(configuration.maxConcurrentCalls) calls in flight")
        if message.headers?[NATSRPCHeaders.stream] != nil {
            await NATSServerStream.sendError(error, sent: -1, to: replyTo, on: connection)
        } else {
            await reply(error, id: message.headers?[NATSRPCHeaders.id] ?? "", to: replyTo)
        }
    }

    private func serve(_ message: NATSMessage) async {
        guard let replyTo = message.replyTo, !replyTo.isEmpty else {
            logger.debug("dropping a message without a reply subject", metadata: ["subject": "\(message.subject)"])
            return
        }
        guard let headers = message.headers, !headers.isEmpty else {
            // go-micro's own NATS transport sends `{"Header": {...}, "Body": "<base64>"}` without NATS headers.
            if let legacy = NATSGoMicroMessage.decode(message.payload) {
                await serveGoMicro(legacy, replyTo: replyTo)
            } else {
                await reply(.badRequest("go.micro.server", "message without Micro-* headers"), id: "", to: replyTo)
            }
            return
        }
        if headers[NATSStreamFrame.kindHeader] != nil {
            await reply(.badRequest("go.micro.server", "a stream frame was sent to the listening subject"), id: "", to: replyTo)
            return
        }
        let request: RPCRequest
        do { request = try NATSRPCHeaders.parseRequest(headers, body: message.payload) } catch {
            let e = MicroError.from(error, id: "go.micro.server")
            if headers[NATSRPCHeaders.stream] != nil {
                await NATSServerStream.sendError(e, sent: -1, to: replyTo, on: connection)
            } else {
                await reply(e, id: headers[NATSRPCHeaders.id] ?? "", to: replyTo)
            }
            return
        }
        if request.isStream {
            guard let text = headers[NATSStreamFrame.windowHeader], let window = Int(text), window > 0 else {
                await NATSServerStream.sendError(.badRequest("go.micro.server", "stream opened without a valid \(NATSStreamFrame.windowHeader) header"),
                                           sent: -1, to: replyTo, on: connection)
                return
            }
            await NATSServerStream.serve(request, clientInbox: replyTo, clientWindow: window, connection: connection,
                                         handler: handler, configuration: configuration, logger: logger)
            return
        }
        if let max = configuration.maxMessageSize, request.body.readableBytes > max {
            await reply(.tooLarge("go.micro.server", "request of \(request.body.readableBytes) bytes exceeds the limit of \(max) bytes"), id: request.id, to: replyTo)
            return
        }
        switch await Self.handle(request, with: handler) {
        case nil:
            logger.debug("call passed its deadline; handler cancelled", metadata: ["endpoint": "\(request.endpoint)"])
        case .success(let response):
            if let max = configuration.maxMessageSize, response.body.readableBytes > max {
                await reply(.tooLarge("go.micro.server", "response of \(response.body.readableBytes) bytes exceeds the limit of \(max) bytes"), id: request.id, to: replyTo)
                return
            }
            do {
                try await connection.publish(replyTo, payload: response.body, headers: NATSRPCHeaders.response(response, id: request.id))
            } catch let e as NATSError where e.code == .maxPayloadExceeded {
                await reply(.tooLarge("go.micro.server", "response of \(response.body.readableBytes) bytes exceeds the NATS server's max_payload"), id: request.id, to: replyTo)
            } catch {
                logger.debug("answering a call failed", metadata: ["endpoint": "\(request.endpoint)", "error": "\(error)"])
            }
        case .failure(let e):
            await reply(e, id: request.id, to: replyTo)
        }
    }

    /// Runs a unary handler, cancelling it when the call's deadline passes. Returns nil then: the
    /// caller, whose own timer ran out at the same time, reports the timeout and no longer listens.
    static func handle(_ request: RPCRequest, with handler: any RPCHandler) async -> Result<RPCResponse, MicroError>? {
        guard let deadline = request.deadline else { return await handler.handle(request) }
        let left = deadline - .now()
        guard left > .zero else { return nil }
        enum Outcome: Sendable { case done(Result<RPCResponse, MicroError>), deadline }
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { .done(await handler.handle(request)) }
            group.addTask {
                do { try await Task.sleep(nanoseconds: UInt64(left.nanoseconds)) } catch { return nil }
                return .deadline
            }
            var outcome: Outcome?
            while outcome == nil, let next = await group.next() { outcome = next }
            group.cancelAll()
            if case .done(let result) = outcome { return result }
            return nil
        }
    }

    private func reply(_ error: MicroError, id: String, to replyTo: String) async {
        do {
            try await connection.publish(replyTo, payload: ByteBuffer(string: error.json), headers: NATSRPCHeaders.error(error, id: id))
        } catch {
            logger.debug("answering with an error failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: go-micro's NATS transport

    /// A unary call from go-micro's own NATS transport (JSON message, no NATS headers), answered the same way.
    private func serveGoMicro(_ message: BrokerMessage, replyTo: String) async {
        var headers = NATSHeaders()
        for (k, v) in message.header.sorted(by: { $0.key < $1.key }) { headers.add(k, v) }
        let answer: BrokerMessage
        do {
            let request = try NATSRPCHeaders.parseRequest(headers, body: ByteBuffer(bytes: message.body))
            if request.isStream {
                throw MicroError.badRequest("go.micro.server", "streams over go-micro's JSON NATS framing are not served; use Swift Micro's NATS transport")
            }
            switch await Self.handle(request, with: handler) {
            case nil:
                return   // past the deadline: the caller gave up
            case .success(let response):
                var h: [String: String] = [:]
                for (k, v) in response.metadata where !NATSRPCHeaders.reserved.contains(k) { h[k] = v }
                h.merge(NATSGoMicroMessage.headers(for: request)) { _, new in new }
                h["Content-Type"] = response.contentType
                answer = BrokerMessage(header: h, body: Array(buffer: response.body))
            case .failure(let e):
                answer = NATSGoMicroMessage.error(e, request: request)
            }
        } catch {
            var request = RPCRequest(service: message.header("Micro-Service") ?? "", endpoint: message.header("Micro-Endpoint") ?? "")
            request.id = message.header("Micro-Id") ?? ""
            answer = NATSGoMicroMessage.error(MicroError.from(error, id: "go.micro.server"), request: request)
        }
        do {
            try await connection.publish(replyTo, payload: NATSGoMicroMessage.encode(answer))
        } catch {
            logger.debug("answering a go-micro call failed", metadata: ["error": "\(error)"])
        }
    }
}
