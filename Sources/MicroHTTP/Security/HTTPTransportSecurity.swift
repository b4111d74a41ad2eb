import NIOCore

/// TLS on the HTTP transport and broker (``HTTPTransportConfiguration/security``). MicroHTTP links
/// no TLS library: the `MicroTLS` module makes these (`HTTPTransportSecurity(settings:)`, `.tls(...)`).
public struct HTTPTransportSecurity: Sendable {
    /// Adds the server side of TLS at the front of an accepted connection's pipeline; nil: serve plaintext.
    package let server: (@Sendable (any Channel) throws -> Void)?
    /// The identity of the client certificate verified on a connection whose handshake is done, nil
    /// without one (only a server that requires client certificates has one).
    package let peerIdentity: @Sendable (any Channel) -> String?
    /// Adds the client side of TLS at the front of a connection to `host` (HTTP/2 or HTTP/1.1 by ALPN);
    /// nil: call in plaintext.
    package let client: (@Sendable (_ channel: any Channel, _ host: String, _ http2: Bool) throws -> Void)?

    /// TLS made of a TLS library's handlers (what `MicroTLS` builds).
    package init(server: (@Sendable (any Channel) throws -> Void)?, peerIdentity: @escaping @Sendable (any Channel) -> String?,
                 client: (@Sendable (_ channel: any Channel, _ host: String, _ http2: Bool) throws -> Void)?) {
        self.server = server
        self.peerIdentity = peerIdentity
        self.client = client
    }
}
