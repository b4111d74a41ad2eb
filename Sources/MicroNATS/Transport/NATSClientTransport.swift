import Logging
import MicroCore
import NATSClient
import NIOCore

/// The calling side of RPC over NATS: a node's address is the subject its listener subscribed.
///
/// **Unary**: a NATS request to the subject; headers `Micro-Service`, `Micro-Endpoint`,
/// `Micro-Method`, `Content-Type`, `Micro-Id`, `Timeout` (ns) and the metadata; the payload is the
/// encoded body. The answer carries `Content-Type`, `Micro-Id` and metadata, or `Micro-Error` with
/// go-micro's error JSON. No listener on the subject (NATS 503) is a `connectFailed`.
///
/// **Streams**: the client subscribes an inbox C and publishes the same headers plus `Micro-Stream`
/// and `Micro-Stream-Window: W` (its receive window) to the subject, reply subject C. The server
/// subscribes an inbox S and answers on C with `Micro-Frame: accept`, reply subject S and its own
/// window. Then each side sends to the other's inbox `data` frames (`Micro-Seq` 1, 2, ...) and at
/// most a window ahead of the `ack` frames (`Micro-Ack`: messages read so far) coming back; the
/// client ends its side with `end` (`Micro-Seq`: count sent), the server ends the stream with `end`
/// or `error` (`Micro-Error`), the client gives up with `cancel`. A side that hears nothing for the
/// keepalive interval sends a `ping` request; a 503 means the peer is gone.
public final class NATSClientTransport: ClientTransport {
    public let protocolName = "nats"
    /// Limits and timings.
    public let configuration: NATSTransportConfiguration
    private let source: NATSConnectionSource

    /// A client transport on `connection`, which others may share; ``shutdown()`` leaves it open.
    public init(connection: NATSConnection, configuration: NATSTransportConfiguration = NATSTransportConfiguration(),
                logger: Logger = Logger(label: "micro.nats.client")) {
        self.configuration = configuration
        self.source = NATSConnectionSource(shared: connection, logger: logger)
    }

    /// A client transport that connects with `options` on first use and closes that connection on ``shutdown()``.
    public init(options: NATSOptions = NATSOptions(), configuration: NATSTransportConfiguration = NATSTransportConfiguration(),
                logger: Logger = Logger(label: "micro.nats.client")) {
        self.configuration = configuration
        self.source = NATSConnectionSource(options: options, logger: logger)
    }

    public func call(_ request: RPCRequest, to address: String) async throws -> RPCResponse {
        if let max = configuration.maxMessageSize, request.body.readableBytes > max {
            throw MicroError.tooLarge("go.micro.client", "request of \(request.body.readableBytes) bytes exceeds the limit of \(max) bytes")
        }
        let timeout: Duration
        if let deadline = request.deadline {
            let left = deadline - .now()
            guard left > .zero else { throw TransportError(.timeout, address: address, detail: "deadline exceeded before sending") }
            timeout = .nanoseconds(left.nanoseconds)
        } else {
            timeout = configuration.defaultTimeout
        }
        let connection = try await connection(for: address)
        let reply: NATSMessage
        do {
            reply = try await connection.request(address, payload: request.body, headers: NATSRPCHeaders.request(request), timeout: timeout)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if let e = error as? NATSError, e.code == .timeout {
                throw TransportError(.timeout, address: address, detail: "deadline exceeded waiting for \(request.service) \(request.endpoint)")
            }
            throw NATSTransportErrors.map(error, address: address)
        }
        let response = try NATSRPCHeaders.parseResponse(reply)
        if let max = configuration.maxMessageSize, response.body.readableBytes > max {
            throw MicroError.tooLarge("go.micro.client", "response of \(response.body.readableBytes) bytes exceeds the limit of \(max) bytes")
        }
        return response
    }

    public func openStream(_ request: RPCRequest, to address: String) async throws -> any ClientStreamChannel {
        if let d = request.deadline, d <= .now() {
            throw TransportError(.timeout, address: address, detail: "deadline exceeded before opening the stream")
        }
        let connection = try await connection(for: address)
        let inbox = connection.newInbox()
        let subscription: NATSSubscription
        do { subscription = try connection.subscribe(inbox) } catch { throw NATSTransportErrors.map(error, address: address) }
        let flow = NATSStreamFlow(window: configuration.streamWindow, address: address)
        let stream = NATSClientStream(connection: connection, subscription: subscription, flow: flow, address: address,
                                      deadline: request.deadline, configuration: configuration)
        var open = request
        open.isStream = true
        do {
            try await connection.publish(address, payload: ByteBuffer(), headers: NATSRPCHeaders.request(open, streamWindow: flow.window), replyTo: inbox)
        } catch {
            stream.cancel()
            throw NATSTransportErrors.map(error, address: address)
        }
        // Wait for the server to take the stream, so a subject nobody listens on fails here, where a
        // selector can still try another node.
        let limit = request.deadline.map { min(configuration.openTimeout, .nanoseconds(($0 - .now()).nanoseconds)) } ?? configuration.openTimeout
        let accepted: Result<Void, any Error> = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                do { _ = try await flow.waitAccepted(); return .success(()) } catch { return .failure(error) }
            }
            group.addTask {
                do { try await Task.sleep(for: limit) } catch { return nil }
                return .failure(TransportError(.timeout, address: address, detail: "the stream was not accepted within \(limit)"))
            }
            var result: Result<Void, any Error>?
            while result == nil, let next = await group.next() { result = next }
            group.cancelAll()
            return result ?? .failure(CancellationError())
        }
        switch accepted {
        case .success:
            return stream
        case .failure(let error) where error is MicroError:
            return stream   // the server refused it: `receive` reports why
        case .failure(let error):
            stream.cancel()
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    private func connection(for address: String) async throws -> NATSConnection {
        do { return try await source.get() } catch {
            throw NATSTransportErrors.map(error, address: address)
        }
    }

    public func shutdown() async {
        await source.close()
    }
}
