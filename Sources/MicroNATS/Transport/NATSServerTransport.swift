import Foundation
import Logging
import MicroAddress
import MicroCore
import NATSClient

/// The serving side of RPC over NATS request/reply: a service listens on a subject instead of a
/// port, so it needs no open port of its own.
///
/// The address is a NATS subject (`micro.rpc.<random>` when the given one is empty or `host:port`);
/// the node registers it as its address. Calls arrive with go-micro's headers as NATS headers and are
/// answered on their reply subject; streams use a per-stream inbox pair with credit-based flow control
/// (see ``NATSClientTransport``).
public struct NATSServerTransport: ServerTransport {
    public let protocolName = "nats"
    /// Limits and timings.
    public var configuration: NATSTransportConfiguration
    private let connection: NATSConnection?
    private let options: NATSOptions?
    private let logger: Logger

    /// Listeners on `connection`, which others may share; shutting a listener down leaves it open.
    public init(connection: NATSConnection, configuration: NATSTransportConfiguration = NATSTransportConfiguration(),
                logger: Logger = Logger(label: "micro.nats.server")) {
        self.connection = connection
        self.options = nil
        self.configuration = configuration
        self.logger = logger
    }

    /// Listeners that each open their own connection with `options`, closed when the listener shuts down.
    public init(options: NATSOptions = NATSOptions(), configuration: NATSTransportConfiguration = NATSTransportConfiguration(),
                logger: Logger = Logger(label: "micro.nats.server")) {
        self.connection = nil
        self.options = options
        self.configuration = configuration
        self.logger = logger
    }

    /// The subject to listen on for `address`: itself if it is a subject, a fresh `micro.rpc.<id>` for an
    /// empty address, a URL or a `HostPort` (`host:port`, `:port`, a bare port: what a server passes
    /// when it has no NATS-specific address).
    public static func subject(for address: String) -> String {
        let trimmed = address.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.contains("://") || (try? HostPort(parsing: trimmed, defaultHost: "")) != nil {
            return "micro.rpc." + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        }
        return trimmed
    }

    public func listen(on address: String, handler: any RPCHandler) async throws -> any TransportListener {
        let subject = Self.subject(for: address)
        guard !subject.contains(where: { $0 == "*" || $0 == ">" || $0.isWhitespace }) else {
            throw MicroError.badRequest("go.micro.transport", "listen address \(subject.debugDescription) is not a plain NATS subject")
        }
        let conn: NATSConnection
        var close: (@Sendable () async -> Void)?
        if let connection {
            conn = connection
        } else {
            conn = try await NATSConnection.connect(options ?? NATSOptions(), logger: logger)
            close = { await conn.drain(timeout: .seconds(2)); await conn.close() }
        }
        do {
            let subscription = try conn.subscribe(subject, queue: configuration.queueGroup)
            // Once this returns the server has the subscription: calls published after it arrive.
            try await conn.flush()
            return NATSListener(address: subject, connection: conn, subscription: subscription, handler: handler,
                                configuration: configuration, logger: logger, closeConnection: close)
        } catch {
            await close?()
            throw NATSTransportErrors.map(error, address: subject)
        }
    }
}
